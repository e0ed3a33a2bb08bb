"""Suites on image data sets (FlexAE paper, Tables 1 to 4).

- `latent_dim` (Table 3): WAE-GAN vs FlexAE-SR at m in {m_b, 2 m_b, 4 m_b}.
- `baselines` (Tables 1, 2): every model on MNIST and Fashion-MNIST.
- `memorization` (Table 4): pixel / Inception memorization scores.

Each model is trained by `train_lib.train` in its own model_dir under
`<out>/<suite>/models/`, configured by gin sheets: the dataset sheet, the
model sheet, on the CPU budget gin/experiments/cpu_networks.gin, then the
user's files and bindings. Rerunning a suite resumes unfinished models,
reuses finished ones (train() returns at once) and reuses evaluations
cached in the model_dir for the same iteration, N, metrics and features.
"""

import json
import os
import time

from absl import logging
import gin
import numpy as np

from flexae_tf.core import events
from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf.data import datasets as data
from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.evaluation import model_metrics
from flexae_tf.experiments import reports
from flexae_tf.training import train_lib

CPU_SHEET = "gin/experiments/cpu_networks.gin"
DATASET_SHEETS = {"mnist": "gin/mnist.gin",
                  "fashion_mnist": "gin/fashion_mnist.gin",
                  "cifar10": "gin/cifar10.gin", "celeb_a": "gin/celeba.gin"}
# Display name: model sheet (applied after the dataset sheet).
MODEL_SHEETS = {
    "VAE": "gin/vae.gin",
    "FP-VAE": "gin/fp_vae.gin",
    "AE+GMM": "gin/ae_gmm.gin",
    "RAE+GMM": "gin/rae_gmm.gin",
    "WAE-GAN": "gin/wae_gan.gin",
    "WAE (WGAN-GP critic)": "gin/wae_wgan_gp.gin",
    "MaskAAE": "gin/mask_aae.gin",
    "Learned prior (lambda=0)": "gin/learned_prior_no_encoder_reg.gin",
    "AAE (learned prior)": "gin/aae_learned_prior.gin",
    "FlexAE": "gin/flexae.gin",
    "FlexAE-SR": "gin/flexae_sr.gin",
}
FEATURES = ("inception", "projection")
_CACHE = "experiment_evaluations.json"
_TRAIN_TIME = "experiment_train_seconds.json"


def _check_names(datasets=(), models=(), features="inception"):
    for kind, names, known in (("dataset", datasets, DATASET_SHEETS),
                               ("model", models, MODEL_SHEETS),
                               ("features", [features], FEATURES)):
        for name in names:
            if name not in known:
                raise errors.UserError(f"Unknown {kind} {name!r}; choose "
                                       f"from {list(known)}.")


class Budget:
    """A suite's budget and evaluation settings, fixed before any model."""

    def __init__(self, num_iterations, num_samples, batch_size, features,
                 projection_dim, network_sheet, gin_files, gin_bindings,
                 evaluate_fn, curve_interval=0, distance="fid"):
        errors.check_positive("", num_iterations=num_iterations,
                         num_samples=num_samples, batch_size=batch_size)
        _check_names(features=features)
        self.num_iterations, self.num_samples = num_iterations, num_samples
        self.batch_size, self.network_sheet = batch_size, network_sheet
        self.gin_files, self.gin_bindings = gin_files, gin_bindings
        self.features = features
        self.feature_fn = (
            None if features == "inception" else
            model_metrics.RandomProjectionFeatures(projection_dim))
        self.label = ("FID" if features == "inception" else
                      f"FD[proj-{projection_dim}]")
        self.kid_label = ("KID" if features == "inception" else
                          f"KID[proj-{projection_dim}]")
        if distance not in ("fid", "kid"):
            raise errors.UserError(f"distance={distance!r}: use 'fid' or "
                                   "'kid' (KID alone: any N).")
        # The tables' distance: "kid" where N <= 2048 rules out Inception
        # FID (a CPU can afford Inception for a few hundred images).
        self.distance = distance
        if distance == "kid":
            self.label = self.kid_label
        self.protocol = ("Inception pool_3 (FID)" if features == "inception"
                         else self.feature_fn.protocol)
        self.evaluate_fn = evaluate_fn or model_metrics.evaluate
        # train.eval_features value whose periodic FIDs are in this
        # table's space (the trainer's projection is the default one), or
        # None: then no learning curve.
        default_projection = model_metrics.RandomProjectionFeatures()
        if features == "inception":
            self.curve_features = "inception"
        elif self.protocol == default_projection.protocol:
            self.curve_features = "random_projection"
        else:
            self.curve_features = None
        # The suite's own curves: projection only, since Inception ones
        # would cost more than the training on a CPU.
        self.curve_interval = (
            curve_interval if self.curve_features == "random_projection"
            and distance == "fid" else 0)

    def curve_bindings(self):
        """Gin bindings of the periodic evaluation that draws the curve."""
        if not self.curve_interval:
            return []
        return [f"train.eval_interval = {self.curve_interval}",
                "train.eval_metrics = ('fid',)",
                f"train.eval_num_samples = {self.num_samples}",
                f"train.eval_features = '{self.curve_features}'"]

    def describe(self):
        networks = (f"narrow networks ({self.network_sheet})"
                    if self.network_sheet else "the authors' network widths")
        return (f"Budget: {self.num_iterations} iterations per model, batch "
                f"{self.batch_size}, {networks}; metrics of the final "
                f"checkpoint against the test split from N = "
                f"{self.num_samples} samples; features: {self.protocol}.")


def train_model(model_dir, dataset, model_name, budget, bindings=()):
    """Configures gin for one model, trains (or resumes) it in model_dir.

    Returns:
      (model, seconds spent in train()).
    """
    n = budget.num_iterations
    interval = min(n, 1000)
    files = [DATASET_SHEETS[dataset], MODEL_SHEETS[model_name]]
    files += [budget.network_sheet] if budget.network_sheet else []
    cli.load_gin(files + list(budget.gin_files), [
        f"train.num_iterations = {n}", f"train.batch_size = "
        f"{budget.batch_size}", f"train.log_interval = {min(n, 50)}",
        f"train.image_interval = {interval}",
        f"train.checkpoint_interval = {interval}"] + budget.curve_bindings()
        + list(bindings) + list(budget.gin_bindings))
    logging.info("Training %s on %s in %s", model_name, dataset, model_dir)
    start = time.time()
    model = train_lib.train(model_dir)
    return model, time.time() - start


def learning_curve(model_dir, budget):
    """{iteration: generation distance} of the periodic evaluations.

    Models trained with `train.eval_interval` > 0 (the suite's
    `curve_interval`, or the user's bindings) log FIDs as they train;
    they are the suite's learning curve when they are in the suite's
    feature space and N, else {}.
    """
    train = gin.get_bindings("train")
    if not train.get("eval_interval") or budget.distance != "fid":
        return {}
    features = train.get("eval_features", "inception")
    if (features != budget.curve_features
            or train.get("eval_num_samples", 10000) != budget.num_samples):
        logging.warning(
            "No learning curve in %s: train.eval_features=%r, "
            "eval_num_samples=%s differ from the suite's %s, N = %d.",
            model_dir, features, train.get("eval_num_samples"),
            budget.protocol, budget.num_samples)
        return {}
    return events.read_scalars(os.path.join(model_dir, "train"),
                                "eval/fid/generation")


def evaluate_model(model, model_dir, dataset, metrics, budget):
    """model_metrics.evaluate + NAC, cached per (iteration, N, ...)."""
    iteration = int(model.iteration.numpy())

    def compute():
        results = budget.evaluate_fn(
            model, dataset, metrics=tuple(metrics),
            num_samples=budget.num_samples, batch_size=250,
            feature_fn=budget.feature_fn)
        codes = np.concatenate([
            model.encode(b).numpy() for b in data.eval_batches(
                dataset, "test", 250, num_images=budget.num_samples)])
        nac, dims = reports.nac(codes)
        return dict(results, iteration=iteration, nac=nac,
                    nac_dimensions=dims)

    key = json.dumps([iteration, budget.num_samples, sorted(metrics),
                      budget.protocol])
    return reports.cached(os.path.join(model_dir, _CACHE), key, compute)


def _slug(text):
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def training_seconds(model_dir, seconds, trained):
    """Wall time the model has spent in training, over every suite run.

    A rerun that reuses the finished model adds nothing, so the reports
    keep the real training time. A model trained before this record
    existed gets the span of its training events.
    """
    path = os.path.join(model_dir, _TRAIN_TIME)
    if os.path.exists(path):
        with open(path) as f:
            total = json.load(f)["seconds"] + (seconds if trained else 0.0)
    else:
        total = seconds if trained else events.event_span(
            os.path.join(model_dir, "train"))
    files.write_atomically(path, json.dumps({"seconds": total}))
    return total


def run_model(out_dir, dataset, model_name, budget, metrics, tag="",
              bindings=()):
    """Trains and evaluates one model; returns its results dict."""
    model_dir = os.path.join(out_dir, "models",
                             _slug(f"{dataset}_{model_name}{tag}"))
    before = (checkpoints.latest(model_dir) if os.path.isdir(model_dir)
              else None)
    model, seconds = train_model(model_dir, dataset, model_name, budget,
                                 bindings)
    trained = checkpoints.latest(model_dir) != before
    results = evaluate_model(model, model_dir, dataset, metrics, budget)
    results["train_seconds"] = training_seconds(model_dir, seconds, trained)
    results["model_dir"] = model_dir
    results["curve"] = learning_curve(model_dir, budget)
    logging.info("%s %s%s: %s", dataset, model_name, tag, {
        k: v for k, v in results.items() if k in ("fid", "kid", "prd", "nac")})
    return results


def curve_rows(report, dataset, name, results, budget):
    """CSV rows of the learning curve; returns it as ([iterations], [gen]).

    The rows carry the final metric's name at earlier iterations, so
    `reports.seed_summary` plots their mean over seeds.
    """
    it, n = results["iteration"], results["num_samples"]
    curve = {k: v for k, v in results["curve"].items() if k < it}
    for step, value in sorted(curve.items()):
        report.result(dataset, name, f"generation_{budget.label}", value,
                      step, n, budget.protocol)
    curve[it] = results[budget.distance]["generation"]
    return sorted(curve), [curve[k] for k in sorted(curve)]


def curve_figure(report, filename, curves, dataset, budget):
    """The learning-curve figure of one dataset, if models logged curves."""
    if max((len(x) for x, _ in curves.values()), default=0) < 2:
        return
    reports.plot_curves(os.path.join(report.out_dir, filename), curves,
                        "iteration", f"generation {budget.label}",
                        f"{dataset}: learning curves, N = "
                        f"{budget.num_samples}", log_y=True)
    report.figure(filename, f"{dataset}: generation {budget.label} during "
                  f"training (train.eval_interval), N = "
                  f"{budget.num_samples}; the budget should be past the "
                  "steep part.")


def _fid_rows(report, dataset, name, results, budget, prd=False,
              curves=None):
    """Table row + CSV rows for the FID (and PRD) numbers of one model."""
    it, n = results["iteration"], results["num_samples"]
    fids = results[budget.distance]
    if curves is not None:
        curves[name] = curve_rows(report, dataset, name, results, budget)
    report.result(dataset, name, f"reconstruction_{budget.label}",
                  fids["reconstruction"], it, n, budget.protocol)
    report.result(dataset, name, f"generation_{budget.label}",
                  fids["generation"], it, n, budget.protocol)
    # evaluate() adds KID (unbiased at any N) where N is below FID's
    # reliable 10,000; the CSV and the seed summary carry it.
    for kind, value in (results.get("kid", {}).items()
                        if budget.distance == "fid" else ()):
        report.result(dataset, name, f"{kind}_{budget.kid_label}", value,
                      it, n, budget.protocol)
    report.result(dataset, name, "nac", results["nac"], it, n, "codes")
    row = [name, it, n, fids["reconstruction"], fids["generation"]]
    if prd:
        for key in ("precision", "recall"):
            report.result(dataset, name, key, results["prd"][key], it, n,
                          budget.protocol)
            row.append(results["prd"][key])
    return row + [f"{reports.fmt(results['nac'])} "
                  f"({results['nac_dimensions']})",
                  f"{results['train_seconds']:.0f}"]


def _headers(budget, prd=False):
    return (["model", "iterations", "N", f"recon {budget.label}",
             f"gen {budget.label}"] + (["precision", "recall"] if prd else [])
            + ["NAC (dims)", "train seconds"])


_DENY = ["out_dir", "gin_files", "gin_bindings", "evaluate_fn"]


@gin.configurable(denylist=_DENY)
def latent_dim(out_dir, gin_files=(), gin_bindings=(), dataset="mnist",
               base_latent_dim=32, multipliers=(1, 2, 4),
               models=("WAE-GAN", "FlexAE-SR"), num_iterations=500,
               num_samples=2000, batch_size=64, features="projection",
               projection_dim=64, network_sheet=CPU_SHEET, curve_interval=100,
               evaluate_fn=None):
    """Table 3: reconstruction and generation FID against latent size m.

    `curve_interval`: iterations between the learning-curve evaluations
    (0: none; projection features only).
    """
    _check_names([dataset], models, features)
    budget = Budget(num_iterations, num_samples, batch_size, features,
                    projection_dim, network_sheet, gin_files, gin_bindings,
                    evaluate_fn, curve_interval)
    report = reports.Report("latent_dim", out_dir,
                        f"latent_dim: latent size m on {dataset} (Table 3)")
    report.text(budget.describe(), f"m_b = {base_latent_dim}.")
    rows, curves, nacs, learning = [], {}, {}, {}
    for name in models:
        for k in multipliers:
            m = k * base_latent_dim
            results = run_model(out_dir, dataset, name, budget, ("fid",),
                                f"_m{m}", [f"LATENT_DIM = {m}"])
            rows.append([m] + _fid_rows(report, dataset, f"{name} m={m}",
                                        results, budget, curves=learning))
            for kind in ("reconstruction", "generation"):
                xs, ys = curves.setdefault((kind, name), ([], []))
                xs.append(m)
                ys.append(results["fid"][kind])
            nacs[f"{name} m={m}"] = results["nac"]
    report.table(["m"] + _headers(budget), rows)
    context = f"{num_iterations} iterations, N = {num_samples}"
    for kind in ("reconstruction", "generation"):
        filename = f"{kind}_vs_m.png"
        reports.plot_curves(os.path.join(out_dir, filename),
                        {name: curves[(kind, name)] for name in models},
                        "latent size m", f"{kind} {budget.label}",
                        f"{dataset}, {context}")
        report.figure(filename, f"{kind} {budget.label} against m, "
                      f"{context}.")
    curve_figure(report, "learning_curves.png", learning, dataset, budget)
    reports.nac_figure(report, "nac.png", nacs, context)
    report.write()
    return rows


@gin.configurable(denylist=_DENY)
def baselines(out_dir, gin_files=(), gin_bindings=(),
              datasets=("mnist", "fashion_mnist"), models=tuple(MODEL_SHEETS),
              num_iterations=500, num_samples=2000, batch_size=64,
              features="projection", projection_dim=64,
              network_sheet=CPU_SHEET, curve_interval=100, distance="fid",
              evaluate_fn=None):
    """Tables 1, 2: every model, same iterations, FID and precision/recall.

    `curve_interval`: as latent_dim's. `distance`: the tables' distance,
    "fid" (with KID in the CSV where N < 10,000) or "kid" (KID alone, at
    any N: Inception features for a few hundred images on a CPU).
    """
    _check_names(datasets, models, features)
    budget = Budget(num_iterations, num_samples, batch_size, features,
                    projection_dim, network_sheet, gin_files, gin_bindings,
                    evaluate_fn, curve_interval, distance)
    report = reports.Report("baselines", out_dir,
                        "baselines: all models (Tables 1, 2)")
    report.text(budget.describe(), "Precision and recall: PRD F_1/8 and "
                "F_8 (Sajjadi et al. 2018) in the same feature space.")
    context = f"{num_iterations} iterations, N = {num_samples}"
    for dataset in datasets:
        rows, nacs, gen, learning = [], {}, {}, {}
        for name in models:
            results = run_model(out_dir, dataset, name, budget,
                                (budget.distance, "prd"))
            rows.append(_fid_rows(report, dataset, name, results, budget,
                                  prd=True, curves=learning))
            nacs[name] = results["nac"]
            gen[name] = results[budget.distance]["generation"]
        report.text(f"## {dataset}")
        report.table(_headers(budget, prd=True), rows)
        reports.plot_bars(os.path.join(out_dir, f"generation_{dataset}.png"),
                      gen, f"generation {budget.label}", f"{dataset}, "
                      f"{context}")
        report.figure(f"generation_{dataset}.png", f"{dataset}: generation "
                      f"{budget.label}, {context}.")
        curve_figure(report, f"learning_curves_{dataset}.png", learning,
                     dataset, budget)
        reports.nac_figure(report, f"nac_{dataset}.png", nacs,
                    f"{dataset}, {context}")
    report.write()


_PAIRS = ("Tr-Tr", "Gen-Tr", "Tr-Te", "Gen-Te")


@gin.configurable(denylist=_DENY)
def memorization(out_dir, gin_files=(), gin_bindings=(), datasets=("mnist",),
                 model="FlexAE-SR", model_dirs=(), num_iterations=1200,
                 num_samples=1000, batch_size=64, features="inception",
                 projection_dim=64, network_sheet=CPU_SHEET,
                 evaluate_fn=None):
    """Table 4: PMS / IMS of a trained model.

    Trains `model` on each of `datasets`, or, when `model_dirs` is given,
    evaluates those already trained models (train with flexae_tf.main).
    """
    _check_names(datasets, [model], features)
    budget = Budget(num_iterations, num_samples, batch_size, features,
                    projection_dim, network_sheet, gin_files, gin_bindings,
                    evaluate_fn)
    report = reports.Report("memorization", out_dir,
                        "memorization: PMS and IMS (Table 4)")
    report.text(budget.describe() if not model_dirs else
                f"Trained models from {list(model_dirs)}; N = "
                f"{num_samples}; features: {budget.protocol}.",
                "Mean L2 distance to the nearest neighbour: Gen-Tr of "
                "generated to training images, Tr-Te of test to training "
                "images, etc.; lower Gen-Tr than Tr-Te hints at memorization.")
    runs = ([(None, d) for d in model_dirs] if model_dirs else
            [(d, model) for d in datasets])
    rows, nacs = [], {}
    for dataset, which in runs:
        if dataset is None:
            loaded, _, dataset = checkpoints.load_trained(which)
            name = os.path.basename(os.path.normpath(which))
            results = evaluate_model(loaded, which, dataset,
                                     ("memorization",), budget)
        else:
            name = which
            results = run_model(out_dir, dataset, which, budget,
                                ("memorization",))
        it, n = results["iteration"], results["num_samples"]
        row = [f"{name} ({dataset})", it, n]
        scores = results["memorization"]
        # evaluate() names the feature space by its `features` setting.
        space_keys = ("pixel", next(k for k in scores if k != "pixel"))
        for space, key in zip(("pixel", "inception"), space_keys):
            for pair in _PAIRS:
                value = scores[key][pair]
                report.result(dataset, name, f"{space}_{pair}", value, it, n,
                              budget.protocol if space != "pixel"
                              else "pixels")
                row.append(value)
        rows.append(row + [reports.fmt(results["nac"])])
        nacs[f"{name} ({dataset})"] = results["nac"]
    report.table(["model", "iterations", "N"] + [f"PMS {p}" for p in _PAIRS]
                 + [f"IMS {p}" for p in _PAIRS] + ["NAC"], rows,
                 "PMS: pixel space; IMS: " + budget.protocol + ".")
    reports.nac_figure(report, "nac.png", nacs, f"N = {num_samples}")
    report.write()
