"""Tests of the experiment suites and their runner (flexae_tf/experiments/).

Every suite runs end to end at a tiny budget: a few iterations, tiny
networks through gin, small N and a cheap feature network.
"""

import csv
import json
import os

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.core import events
from flexae_tf.core import cli
from flexae_tf.core import errors
from flexae_tf.core import paths
from flexae_tf.evaluation import features as features_lib
from flexae_tf.evaluation import selection
from flexae_tf.experiments import __main__ as experiments_cli
from flexae_tf.experiments import beta_sweep
from flexae_tf.experiments import claims
from flexae_tf.experiments import budget as budget_lib
from flexae_tf.experiments import paired
from flexae_tf.experiments import plots
from flexae_tf.experiments import report as report_lib
from flexae_tf.experiments import runner
from flexae_tf.experiments import seeds as seeds_lib
from flexae_tf.experiments import sheets
from flexae_tf.experiments import synthetic_models
from flexae_tf.experiments import synthetic_suites
from flexae_tf.metrics import codes as code_metrics
from flexae_tf.metrics import fid
from flexae_tf.models import wae_gan
from flexae_tf.storage import artifacts
from flexae_tf.storage import eval_checkpoints

TINY_VECTOR = [
    "VectorEncoder.hidden_units = 16", "VectorDecoder.hidden_units = 16",
    "PriorGenerator.hidden_units = 16", "LatentCritic.hidden_units = 16",
    "FlexAE.critic_steps = 1"]
TINY_IMAGE = [
    "FlexAE.critic_steps = 1", "Encoder.filters = (4, 8)",
    "Encoder.dense_units = 16", "Decoder.filters = (8, 4)",
    "Decoder.dense_units = 16", "PriorGenerator.hidden_units = 16",
    "LatentCritic.hidden_units = 16", "ImageCritic.filters = (4, 8)",
    "ImageCritic.dense_units = 16"]


@pytest.fixture(autouse=True)
def _clean_gin():
    gin.clear_config()
    keras.utils.set_random_seed(0)
    yield
    gin.clear_config()


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _gin_file(tmp_path, bindings):
    """Bindings as a gin file (exercises the --gin_file path)."""
    path = os.path.join(tmp_path, "bindings.gin")
    with open(path, "w") as f:
        f.write("\n".join(bindings) + "\n")
    return [path]


def _check_outputs(out_dir, pngs):
    report = open(os.path.join(out_dir, "report.md")).read()
    for png in pngs:
        path = os.path.join(out_dir, png)
        assert os.path.getsize(path) > 1000, path
        assert f"]({png})" in report
    rows = _csv(os.path.join(out_dir, "results.csv"))
    assert rows
    for row in rows:  # Every number states its iterations and N.
        assert int(row["iterations"]) > 0 and int(row["num_samples"]) > 0
        assert row["value"] != ""
    return report, rows


def test_nac_golden_values():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(1000)
    # Two copies and a negated copy: every |correlation| is 1.
    assert code_metrics.nac(np.stack([a, a, -a], 1)) == (
        pytest.approx(1.0), 3)
    nac, dims = code_metrics.nac(rng.standard_normal((20000, 4)))
    assert nac < 0.02 and dims == 4
    # A switched-off (constant) dimension is left out, not NaN.
    codes = np.stack([a, 0.5 * a + rng.standard_normal(1000),
                      np.zeros(1000)], 1)
    nac, dims = code_metrics.nac(codes)
    assert dims == 2 and nac == pytest.approx(
        abs(np.corrcoef(codes[:, 0], codes[:, 1])[0, 1]))


def test_frechet_distance_of_shifted_data():
    # Equal covariances: FD = ||mu1 - mu2||^2 = 4 * d for a shift of 2.
    x = np.random.default_rng(0).standard_normal((5000, 3))
    assert fid.frechet_distance_between(x, x + 2.0) == pytest.approx(
        12.0, rel=1e-6)


def test_fixed_mixture_wae_samples_its_fixed_mixture():
    gin.parse_config("\n".join(TINY_VECTOR + [
        "build_encoder.network = @VectorEncoder",
        "build_decoder.network = @VectorDecoder"]))
    model = synthetic_models.FixedMixtureWAE(
        (128,), latent_dim=2, num_components=4, radius=2.0, std=0.1)
    assert model.noise_dim == 3
    codes = model.prior_codes(tf.random.stateless_normal((4000, 3), [0, 0]))
    means = np.array([[2, 0], [0, 2], [-2, 0], [0, -2]], np.float32)
    distance = np.linalg.norm(codes.numpy()[:, None] - means, axis=2)
    assert distance.min(1).max() < 0.6          # every sample near a mean
    assert np.all(np.bincount(distance.argmin(1)) > 800)  # all 4 used
    model.compile()
    before = [w.numpy() for w in model.mixture.weights]
    logs = model.train_step(tf.random.stateless_normal(
        (model.group_size, 8, 128), [0, 1]))
    assert np.isfinite(float(logs["latent_wasserstein"]))
    for old, new in zip(before, model.mixture.weights):
        np.testing.assert_array_equal(old, new.numpy())  # The prior is fixed.


def test_unknown_suite_is_a_user_error(tmp_path):
    with pytest.raises(errors.UserError, match="Unknown suite 'nope'"):
        runner.run_suite("nope", str(tmp_path))
    with pytest.raises(errors.UserError, match="num_iterations=0"):
        runner.run_suite("synthetic_dim", str(tmp_path), iterations=0)


def test_cli_fails_cleanly_on_an_unknown_suite(tmp_path, capsys):
    experiments_cli.FLAGS(["experiments", "--suite=nope", f"--out={tmp_path}"])
    try:
        with pytest.raises(SystemExit) as exit_info:
            experiments_cli.main(["experiments"])
    finally:
        experiments_cli.FLAGS.unparse_flags()
    assert exit_info.value.code == 2
    assert "Unknown suite 'nope'" in capsys.readouterr().err


def test_paper_budget_sheet_parses_and_sets_the_paper_budget():
    cli.load_gin([runner.PAPER_BUDGET], [])
    for suite in ("latent_dim", "baselines", "memorization"):
        assert gin.query_parameter(f"{suite}.num_iterations") == 130000
        assert gin.query_parameter(f"{suite}.num_samples") == 10000
        assert gin.query_parameter(f"{suite}.features") == "inception"
        assert gin.query_parameter(f"{suite}.network_sheet") is None
    assert gin.query_parameter("synthetic_dim.num_samples") == 10000


def test_synthetic_dim_runs_end_to_end(tmp_path):
    results = runner.run_suite(
        "synthetic_dim", str(tmp_path), _gin_file(tmp_path, TINY_VECTOR),
        ["synthetic_dim.eval_interval = 3", "synthetic_dim.num_train = 300"],
        iterations=6, num_samples=200)
    out = os.path.join(tmp_path, "synthetic_dim")
    report, rows = _check_outputs(
        out, ["wasserstein.png", "generation_fd.png", "nac.png"])
    assert set(results) == {synthetic_suites.WAE_GAN, "WAE (WGAN-GP critic)",
                            "FlexAE"}
    assert isinstance(results[synthetic_suites.WAE_GAN][0], wae_gan.WAEGAN)
    for name, (model, history, final) in results.items():
        assert model.latent_dim == 50
        assert [p["iteration"] for p in history] == [3, 6]
        if name != synthetic_suites.WAE_GAN:  # A JS discriminator: no W.
            assert all(np.isfinite(p["latent_wasserstein"])
                       for p in history)
        assert final["codes"].shape == (200, 50)
    assert "generation FD, change over the last 20 %" in report
    curves = [r for r in rows if r["metric"] == "latent_wasserstein"]
    assert len(curves) == 4
    fds = [r for r in rows if r["metric"] == "generation_fd"]
    assert {r["num_samples"] for r in fds} == {"200"}
    assert "| FlexAE | 6 | 200 |" in report


def test_synthetic_mog_runs_end_to_end(tmp_path):
    results = runner.run_suite(
        "synthetic_mog", str(tmp_path), (),
        TINY_VECTOR + ["synthetic_mog.eval_interval = 4",
                       "synthetic_mog.num_train = 300"],
        iterations=4, num_samples=150)
    out = os.path.join(tmp_path, "synthetic_mog")
    report, rows = _check_outputs(
        out, ["latents.png", "generation_fd.png", "nac.png"])
    assert list(results) == ["VAE", "WAE (N(0, I) prior)",
                             "WAE (fixed GMM prior)", "FlexAE"]
    assert isinstance(results["WAE (fixed GMM prior)"][0],
                      synthetic_models.FixedMixtureWAE)
    assert {r["model"] for r in rows} == set(results)
    for name in results:
        assert f"| {name} | 4 | 150 |" in report


class FakeEvaluation:
    """evaluation.evaluate's contract, counting calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, model, dataset, metrics=("fid",), num_samples=10000,
                 batch_size=250, feature_fn=None):
        self.calls.append((model.latent_dim, dataset, tuple(metrics),
                           num_samples, feature_fn))
        scores = {p: 1.0 for p in ("Tr-Tr", "Gen-Tr", "Tr-Te", "Gen-Te")}
        return {"num_samples": num_samples,
                "fid": {"reconstruction": 1.0 + model.latent_dim,
                        "generation": 2.0 + model.latent_dim},
                "prd": {"precision": 0.5, "recall": 0.25},
                "memorization": {"pixel": scores, "inception": scores}}


def test_latent_dim_suite_trains_reports_and_reuses_finished_models(
        tmp_path):
    fake = FakeEvaluation()
    kwargs = dict(gin_bindings=TINY_IMAGE + [
        "latent_dim.models = ('WAE-GAN',)", "latent_dim.multipliers = (1, 2)",
        "latent_dim.base_latent_dim = 4", "latent_dim.batch_size = 8",
        "latent_dim.projection_dim = 8"],
        iterations=2, num_samples=30, evaluate_fn=fake)
    rows = runner.run_suite("latent_dim", str(tmp_path), **kwargs)
    out = os.path.join(tmp_path, "latent_dim")
    report, csv_rows = _check_outputs(
        out, ["reconstruction_vs_m.png", "generation_vs_m.png", "nac.png"])
    assert [c[0] for c in fake.calls] == [4, 8]  # LATENT_DIM rebinding
    assert all(c[3] == 30 and c[4].dim == 8 for c in fake.calls)
    assert [r[0] for r in rows] == [4, 8]
    assert "| 8 | WAE-GAN m=8 | 2 | 30 | 9 | 10 |" in report
    assert "FD[proj-8]" in report
    # The paper's Table 3 at the same m / m_b (m_b = 4 here, 32 there).
    assert [r[-1] for r in rows] == ["7.98 / 15.34 (m = 32)",
                                     "5.61 / 24.58 (m = 64)"]
    assert report.startswith("# latent_dim") and "\nMachine: CPU " in report
    assert {r["metric"] for r in csv_rows} == {
        "reconstruction_FD[proj-8]", "generation_FD[proj-8]", "nac"}
    for m in (4, 8):
        model_dir = os.path.join(out, "models", f"mnist_wae_gan_m{m}")
        assert os.listdir(os.path.join(model_dir, "checkpoints"))
    # A rerun reuses the finished models and their cached evaluations,
    # and reports their training time, not its own.
    fake.calls.clear()
    again_rows = runner.run_suite("latent_dim", str(tmp_path), **kwargs)
    assert not fake.calls
    assert float(rows[0][-2]) >= 1  # before the paper's column
    assert [r[-2] for r in again_rows] == [r[-2] for r in rows]
    again = open(os.path.join(out, "report.md")).read()
    assert "| 8 | WAE-GAN m=8 | 2 | 30 | 9 | 10 |" in again


def test_memorization_suite_with_the_real_evaluation(tmp_path):
    bindings = TINY_IMAGE + [
        "memorization.model = 'VAE'", "memorization.batch_size = 8",
        "memorization.features = 'projection'",
        "memorization.projection_dim = 8"]
    runner.run_suite("memorization", str(tmp_path),
                          gin_bindings=bindings, iterations=2,
                          num_samples=20)
    out = os.path.join(tmp_path, "memorization")
    report, rows = _check_outputs(out, ["nac.png"])
    assert len(rows) == 8  # 4 pairs x (pixel, features)
    values = {r["metric"]: float(r["value"]) for r in rows}
    assert all(v > 0 for v in values.values())
    assert "| VAE (mnist) | 2 | 20 |" in report
    # The paper's Table 4 row, judged by the same C4 rule: it holds.
    assert ("| paper, Table 4 (mnist) | 130000 | 10000 | 4.72 | 4.66 | 4.77 "
            "| 4.66 | 7.11 | 7.1 | 7.12 | 7.12 |  | holds: PMS Gen-Tr -1.3 %"
            in report)
    # The same trained model, named by its directory.
    model_dir = os.path.join(out, "models", "mnist_vae")
    runner.run_suite(
        "memorization", str(tmp_path / "again"), gin_bindings=bindings + [
            f"memorization.model_dirs = ['{model_dir}']"], num_samples=20)
    again = _csv(os.path.join(tmp_path, "again", "memorization",
                              "results.csv"))
    assert {r["metric"]: float(r["value"]) for r in again} == values


def test_baselines_learning_curve_is_the_tables_protocol(tmp_path):
    """curve_interval: periodic evaluations become CSV rows and a figure;
    their last point is the table's number (same features, N, samples)."""
    bindings = TINY_IMAGE + [
        "baselines.datasets = ('mnist',)", "baselines.models = ('WAE-GAN',)",
        "baselines.batch_size = 8", "baselines.curve_interval = 2"]
    runner.run_suite("baselines", str(tmp_path), gin_bindings=bindings,
                     iterations=4, num_samples=100)
    out = os.path.join(tmp_path, "baselines")
    _, rows = _check_outputs(out, ["learning_curves_mnist.png"])
    generation = {int(r["iterations"]): float(r["value"]) for r in rows
                  if r["metric"] == "generation_FD[proj-64]"}
    assert sorted(generation) == [2, 4]
    # N < 10,000: KID beside FD, at the final iteration.
    assert {(r["metric"], r["iterations"]) for r in rows} >= {
        ("generation_KID[proj-64]", "4"), ("reconstruction_KID[proj-64]",
                                           "4")}
    logged = events.read_scalars(
        os.path.join(out, "models", "mnist_wae_gan", "train"),
        "eval/fid/generation")
    assert sorted(logged) == [2, 4]
    assert generation[2] == pytest.approx(logged[2])
    assert generation[4] == pytest.approx(logged[4], rel=1e-4)
    report = open(os.path.join(out, "report.md")).read()
    assert "change over the last 20 %" in report
    assert "| paper: rec. / gen. FID; F_8 / F_1/8 |" in report
    assert report.count("| 10.48 / 13.6 |") == 1  # Table 1's WAE-GAN
    # Another projection for the tables: the curve stays the trainer's
    # FD[proj-64], a proxy that no longer ends at the table's number.
    runner.run_suite("baselines", str(tmp_path / "other"),
                     gin_bindings=bindings + ["baselines.projection_dim = 8"],
                     iterations=4, num_samples=100)
    other = _csv(os.path.join(tmp_path, "other", "baselines",
                              "results.csv"))
    proxy = {int(r["iterations"]): float(r["value"]) for r in other
             if r["metric"] == "generation_FD[proj-64]"}
    assert sorted(proxy) == [2, 4]
    assert {r["iterations"] for r in other
            if r["metric"] == "generation_FD[proj-8]"} == {"4"}
    assert proxy[4] == pytest.approx(events.read_scalars(os.path.join(
        tmp_path, "other", "baselines", "models", "mnist_wae_gan", "train"),
        "eval/fid/generation")[4])


def test_baselines_with_kid_alone_below_the_feature_dimension(tmp_path):
    """distance='kid': N = 40 < 64 feature dimensions, where FD's
    covariance is singular; the tables carry KID instead."""
    bindings = TINY_IMAGE + [
        "baselines.datasets = ('mnist',)", "baselines.models = ('WAE-GAN',)",
        "baselines.batch_size = 8", "baselines.distance = 'kid'"]
    runner.run_suite("baselines", str(tmp_path), gin_bindings=bindings,
                     iterations=2, num_samples=40)
    report, rows = _check_outputs(os.path.join(tmp_path, "baselines"),
                                  ["generation_mnist.png"])
    metrics = {r["metric"] for r in rows}
    assert {"generation_KID[proj-64]", "reconstruction_KID[proj-64]",
            "precision", "recall"} <= metrics
    assert not any("FD" in m for m in metrics)
    assert "gen KID[proj-64]" in report
    with pytest.raises(errors.UserError, match="distance='mmd'"):
        runner.run_suite("baselines", str(tmp_path / "bad"),
                         gin_bindings=["baselines.distance = 'mmd'"])


def test_image_suites_reject_unknown_names(tmp_path):
    for binding in ("baselines.datasets = ('svhn',)",
                    "baselines.models = ('GAN',)",
                    "baselines.features = 'pixels'"):
        with pytest.raises(errors.UserError, match="svhn|GAN|pixels"):
            runner.run_suite("baselines", str(tmp_path),
                             gin_bindings=[binding])
    assert sheets.MODEL_SHEETS  # every sheet exists
    for sheet in list(sheets.MODEL_SHEETS.values()) + [
            sheets.CPU_SHEET, sheets.SYNTHETIC_SHEET]:
        assert os.path.exists(os.path.join(paths.REPO_ROOT, sheet))


def test_beta_sweep_suite_runs_end_to_end(tmp_path):
    """FP-VAE at two betas through the suite, real (cheap) evaluation."""
    bindings = TINY_IMAGE + [
        "FlowPrior.hidden_units = 8", "beta_sweep.datasets = ('mnist',)",
        "beta_sweep.models = ('FP-VAE',)", "beta_sweep.betas = (0.0, 0.1)",
        "beta_sweep.batch_size = 8", "beta_sweep.latent_dim = 2",
        "beta_sweep.projection_dim = 8"]
    rows = runner.run_suite("beta_sweep", str(tmp_path),
                            gin_bindings=bindings, iterations=2,
                            num_samples=20)
    out = os.path.join(tmp_path, "beta_sweep")
    report, csv_rows = _check_outputs(
        out, ["generation_vs_beta_mnist.png",
              "reconstruction_vs_beta_mnist.png"])
    assert [(r[1], r[2]) for r in rows] == [("FP-VAE", "0"),
                                            ("FP-VAE", "0.1")]
    fds = [r for r in csv_rows if "FD[" in r["metric"]]
    kids = [r for r in csv_rows if "KID[" in r["metric"]]
    assert len(fds) == 4 and all(float(r["value"]) > 0 for r in fds)
    # KID beside FD where N < 10,000, as the claims' metric (unbiased, so
    # it may be slightly negative).
    assert len(kids) == 4 and all(np.isfinite(float(r["value"]))
                                  for r in kids)
    assert len(csv_rows) == 8
    assert "| mnist | FP-VAE | 0.1 | 2 | 20 |" in report
    # beta reached the model, with the warm-up scaled to the budget.
    model_dir = os.path.join(out, "models", "mnist_fp_vae_beta0_1")
    operative = open(os.path.join(model_dir, "operative_config.gin")).read()
    assert "FPVAE.beta = 0.1" in operative
    assert "LATENT_DIM = 2" in operative
    with pytest.raises(errors.UserError, match="beta"):
        runner.run_suite("beta_sweep", str(tmp_path / "bad"),
                         gin_bindings=["beta_sweep.betas = (-1.0,)"])


def test_beta_sweep_sets_each_models_beta():
    assert beta_sweep.model_bindings("AAE (learned prior)", 0.01, 8, 100) == [
        "LATENT_DIM = 8", "FlexAE.encoder_adversarial_weight = 0.01"]
    assert beta_sweep.model_bindings("FP-VAE", 1, 8, 100) == [
        "LATENT_DIM = 8", "FPVAE.beta = 1.0",
        "FPVAE.warmup_iterations = 100"]
    # The AAE sheet puts beta into the shared 'joint' lambda mode.
    cli.load_gin(["gin/mnist.gin", "gin/aae_learned_prior.gin"],
                 beta_sweep.model_bindings("AAE (learned prior)", 0.1, 8, 0))
    assert gin.query_parameter("FlexAE.encoder_adversarial_mode") == "joint"
    assert gin.query_parameter("FlexAE.encoder_adversarial_weight") == 0.1
    assert gin.query_parameter("%LATENT_DIM") == 8


def test_latent_2d_suite_draws_codes_prior_and_class_grids(tmp_path):
    bindings = TINY_IMAGE + [
        "FlowPrior.hidden_units = 8", "latent_2d.batch_size = 8"]
    rows = runner.run_suite("latent_2d", str(tmp_path),
                            gin_bindings=bindings, iterations=2,
                            num_samples=200)
    out = os.path.join(tmp_path, "latent_2d")
    report, csv_rows = _check_outputs(out, ["latent_2d_mnist.png"])
    assert [r[:3] for r in rows] == [["FlexAE", 2, 200], ["FP-VAE", 2, 200]]
    assert {r["metric"] for r in csv_rows} == {"latent_FD_codes_vs_prior"}
    for slug in ("flexae", "fp_vae"):
        grids = os.listdir(os.path.join(out, "attributes", slug))
        assert len(grids) == 10  # one per MNIST class
    model_dir = os.path.join(out, "models", "mnist_fp_vae_2d")
    operative = open(os.path.join(model_dir, "operative_config.gin")).read()
    assert "LATENT_DIM = 2" in operative


def test_report_writes_one_hparams_run_per_model(tmp_path):
    """TensorBoard's HParams tab: each (dataset, model) is a run whose
    session-start summary holds its settings and whose scalars are the
    report's numbers, at the row's iteration."""
    report = report_lib.Report("beta_sweep", str(tmp_path), "t")
    report.result("mnist", "FP-VAE beta=0.1", "generation_FD[proj-64]",
                  583.5, 500, 1000, "projection")
    report.result("mnist", "FP-VAE beta=0.1", "nac", float("nan"), 500, 1000)
    report.result("mnist", "AAE beta=1", "generation_FD[proj-64]", 575.0,
                  500, 1000, "projection")
    report.write()
    runs = sorted(os.listdir(tmp_path / "tensorboard"))
    assert runs == ["mnist_AAE_beta_1", "mnist_FP-VAE_beta_0.1"]
    events = [e for path in (tmp_path / "tensorboard" / runs[1]).iterdir()
              for e in tf.compat.v1.train.summary_iterator(str(path))]
    values = [v for e in events for v in e.summary.value]
    plugins = {v.metadata.plugin_data.plugin_name for v in values}
    assert "hparams" in plugins
    start = next(v for v in values if v.tag == "_hparams_/session_start_info")
    assert b"FP-VAE beta=0.1" in start.metadata.plugin_data.content
    scalars = {(v.tag, e.step): float(tf.make_ndarray(v.tensor))
               for e in events for v in e.summary.value
               if v.tag.startswith("generation")}
    assert scalars == {("generation_FD_proj-64_", 500): 583.5}


def test_seeds_run_the_suite_per_seed_and_summarise_mean_and_sd(tmp_path):
    results = runner.run_suite(
        "synthetic_dim", str(tmp_path), _gin_file(tmp_path, TINY_VECTOR),
        ["synthetic_dim.eval_interval = 3", "synthetic_dim.num_train = 300"],
        iterations=3, num_samples=200, seeds=[0, 1])
    assert set(results) == {0, 1}
    out = os.path.join(tmp_path, "synthetic_dim")
    per_seed = {}
    for seed in (0, 1):
        with open(os.path.join(out, f"seed_{seed}", "results.csv")) as f:
            for row in csv.DictReader(f):
                per_seed.setdefault((row["model"], row["metric"]), []).append(
                    float(row["value"]))
    with open(os.path.join(out, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    fd = [r for r in rows if r["model"] == "FlexAE"
          and r["metric"] == "generation_fd"]
    assert len(fd) == 1 and fd[0]["n"] == "2"
    values = per_seed[("FlexAE", "generation_fd")]
    assert values[0] != values[1]  # The seeds change data and weights.
    np.testing.assert_allclose(float(fd[0]["value"]), np.mean(values),
                               rtol=1e-5)
    np.testing.assert_allclose(float(fd[0]["std"]),
                               np.std(values, ddof=1), rtol=1e-5)
    with open(os.path.join(out, "report.md")) as f:
        report = f.read()
    assert "(seed_0/report.md)" in report and "| FlexAE | generation_fd |" in report
    # The registered claim C1, judged by the paired rule on these seeds.
    gan = per_seed[(synthetic_suites.WAE_GAN, "generation_fd")]
    verdict = paired.compare(values, gan).describe()
    assert "## Verdicts" in report and verdict in report
    with pytest.raises(errors.UserError, match="give distinct seeds"):
        runner.run_suite("synthetic_dim", str(tmp_path), seeds=[1, 1])


def test_image_suites_seed_every_models_weights_data_order_and_noise():
    bindings = runner.seed_bindings("baselines", 3)
    assert bindings == ["train.seed = 3", "make_model.seed = 3"]
    gin.clear_config()
    cli.load_gin([os.path.join(paths.REPO_ROOT, "gin", name)
                  for name in ("tiny.gin", "vae.gin")], bindings)
    from flexae_tf.models import factory  # pylint: disable=g-import-not-at-top
    model = factory.make_model((28, 28, 1))
    assert type(model).__name__ == "VAE"
    assert model.get_config()["seed"] == 3
    assert gin.query_parameter("train.seed") == 3
    gin.clear_config()


def test_bn_statistics_suite_pairs_policies_on_the_validation_split(
        tmp_path):
    """Both policies per seed, same weights, real (cheap) evaluation."""
    bindings = TINY_IMAGE + [
        "bn_statistics.seeds = (0, 1)", "bn_statistics.batch_size = 8",
        "bn_statistics.features = 'projection'",
        "bn_statistics.projection_dim = 8", "bn_statistics.curve_interval = 1"]
    result = runner.run_suite("bn_statistics", str(tmp_path),
                              gin_bindings=bindings, iterations=2,
                              num_samples=72)
    out = os.path.join(tmp_path, "bn_statistics")
    report, csv_rows = _check_outputs(out, ["learning_curves.png"])
    # Each policy's learning curve (its own moving statistics) and its
    # flatness check (paired_test checks the arithmetic; two points leave
    # the last 20 % with one, so "n/a").
    curve = [r for r in csv_rows
             if r["metric"] == "generation_FD[proj-64]"]
    assert {(r["model"], r["iterations"]) for r in curve} == {
        (f"FlexAE-SR bn={p} seed={s}", str(i))
        for p in ("all", "reconstruction") for s in (0, 1) for i in (1, 2)}
    for row in result["rows"]:
        values = {int(r["iterations"]): float(r["value"]) for r in curve
                  if r["model"] == f"FlexAE-SR bn={row[1]} seed={row[0]}"}
        assert row[-2] == paired.describe_flatness(values) == "n/a"
    assert "change over the last 20 %" in report
    assert [(r[0], r[1]) for r in result["rows"]] == [
        (0, "all"), (0, "reconstruction"), (1, "all"),
        (1, "reconstruction")]
    assert result["default"] in ("all", "reconstruction")
    assert result["paired"].verdict in report
    models = os.path.join(out, "models")
    for seed in (0, 1):
        pair = [os.path.join(models, f"mnist_flexae_sr_{p}_seed{seed}")
                for p in ("all", "reconstruction")]
        configs = [open(os.path.join(d, "operative_config.gin")).read()
                   for d in pair]
        assert "FlexAE.bn_statistics = 'all'" in configs[0]
        assert "FlexAE.bn_statistics = 'reconstruction'" in configs[1]
        assert all(f"train.seed = {seed}" in c for c in configs)
        # Same weights, other moving statistics: the design is paired.
        weights = [artifacts.load_keras(os.path.join(
            d, artifacts.KERAS_FILE)) for d in pair]
        kernels = [w.decoder.trainable_variables[0].numpy() for w in weights]
        np.testing.assert_allclose(kernels[0], kernels[1], rtol=1e-5,
                                   atol=1e-6)
        means = [[v.numpy() for v in w.decoder.non_trainable_variables
                  if "moving_mean" in v.path] for w in weights]
        assert any(not np.allclose(a, b) for a, b in zip(*means))
    metrics = {r["metric"] for r in csv_rows}
    # Named by the suite's features (projection here, KID on Inception).
    assert {"generation_KID[proj-8]", "generation_FD[proj-8]",
            "reconstruction_MSE_inference",
            "reconstruction_MSE_training"} <= metrics
    assert all(np.isfinite(float(r["value"])) for r in csv_rows)


def test_bn_statistics_rejects_an_n_too_small_for_fid_before_training(
        tmp_path):
    # 2000 Inception features have a singular covariance: found only after
    # the first model's training, the error would have cost its run.
    with pytest.raises(errors.UserError, match="at least 2049 samples"):
        runner.run_suite("bn_statistics", str(tmp_path), num_samples=2000)
    assert not os.path.exists(os.path.join(tmp_path, "bn_statistics",
                                           "models"))


def test_budget_scales_the_budget_dependent_schedules():
    """MaskAAE and FP-VAE get num_iterations / 130k; other models and
    suites that set their own warm-up (scale_schedules=False) get none."""
    budget = budget_lib.Budget(num_iterations=5000, num_samples=100,
                               batch_size=8)
    assert budget.schedule_scale == pytest.approx(5000 / 130000)
    assert budget.schedule_bindings("MaskAAE") == [
        f"MaskAAE.schedule_scale = {5000 / 130000!r}"]
    assert budget.schedule_bindings("FP-VAE") == [
        f"FPVAE.schedule_scale = {5000 / 130000!r}"]
    assert budget.schedule_bindings("FlexAE-SR") == []
    fixed = budget_lib.Budget(num_iterations=5000, num_samples=100,
                              batch_size=8, scale_schedules=False)
    assert fixed.schedule_bindings("MaskAAE") == []
    cli.load_gin([sheets.DATASET_SHEETS["mnist"], sheets.MODEL_SHEETS[
        "MaskAAE"]], budget.schedule_bindings("MaskAAE"))
    assert gin.query_parameter("MaskAAE.schedule_scale") == pytest.approx(
        5000 / 130000)
    gin.clear_config()


def test_learning_curves_need_more_samples_than_the_projection():
    budget = budget_lib.Budget(num_iterations=10, num_samples=40,
                               batch_size=8, curve_interval=5)
    with pytest.raises(errors.UserError, match="num_samples > 64"):
        budget.curve_bindings()
    # No point inside the run: nothing to draw, nothing to check.
    assert budget_lib.Budget(num_iterations=4, num_samples=40, batch_size=8,
                             curve_interval=5).curve_bindings() == []


def test_claims_pair_each_seeds_last_row_by_seed(tmp_path):
    """Each seed's last row of the metric, paired by seed; a checkpoint
    chosen on validation may sit at another iteration in each seed."""
    claim = claims.Claim("C9", "generation_kid", "A", "B", "none")
    rows = {  # seed: [(dataset, model, iteration, value)]
        0: [("mnist", "A", 100, 9.0), ("mnist", "A", 500, 1.0),
            ("mnist", "B", 500, 2.0), ("fashion", "A", 500, 1.0),
            ("fashion", "B", 500, 2.0), ("mnist", "C", 500, 0.0)],
        1: [("mnist", "A", 100, 9.0), ("mnist", "A", 450, 2.0),
            ("mnist", "B", 500, 3.5), ("fashion", "A", 500, 2.0)],
        2: [("mnist", "A", 100, 9.0), ("mnist", "A", 500, 3.0),
            ("mnist", "B", 350, 4.0)]}
    seed_dirs = {}
    for seed, entries in rows.items():
        report = report_lib.Report("toy", str(tmp_path / f"seed_{seed}"), "t")
        for dataset, model, iteration, value in entries:
            report.result(dataset, model, "generation_kid", value, iteration,
                          100)
        report.write()
        seed_dirs[seed] = report.out_dir
    original = dict(claims.CLAIMS)
    claims.CLAIMS["toy"] = (claim,)
    try:
        lines = claims.verdict_lines("toy", seeds_lib.last_per_seed(
            seed_dirs))
    finally:
        claims.CLAIMS.clear()
        claims.CLAIMS.update(original)
    text = "\n".join(lines)
    # d = (1, 1.5, 1): mean 1.167, SD 0.289, t = 7.0 (2 df), p = 0.0099.
    assert paired.compare([1.0, 2.0, 3.0], [2.0, 3.5, 4.0]).describe() in text
    assert "t = 7 (2 df)" in text and "holds" in text
    assert "iteration 350 / 450 / 500, seeds [0, 1, 2]" in text
    assert "C9 (fashion): not judged" in text  # B has seed 0 only.
    assert claims.verdict_lines("no_such_suite", {}) == []


def test_seed_summary_shows_every_seeds_chosen_checkpoint(tmp_path):
    """A score of a checkpoint chosen on validation sits at another
    iteration in each seed: the summary row pools the seeds' own rows
    (not only those that chose the latest iteration) and draws no mean
    curve through them; a learning curve every seed has is drawn."""
    rows = {  # seed: [(model, metric, iteration, value)]
        0: [("A", "generation_kid", 500, 1.0)],
        1: [("A", "generation_kid", 450, 2.0)],
        2: [("A", "generation_kid", 350, 6.0)]}
    seed_dirs = {}
    for seed, entries in rows.items():
        report = report_lib.Report("toy", str(tmp_path / f"seed_{seed}"), "t")
        for iteration in (100, 300, 500):
            report.result("mnist", "A", "generation_fd", seed + iteration,
                          iteration, 100)
        for model, metric, iteration, value in entries:
            report.result("mnist", model, metric, value, iteration, 100)
        if seed < 2:
            report.result("mnist", "B", "generation_kid", 4.0 + seed, 500,
                          100)
        report.write()
        seed_dirs[seed] = report.out_dir
    out = str(tmp_path / "summary")
    seeds_lib.seed_summary("toy", out, seed_dirs, "toy: 3 seeds")
    with open(os.path.join(out, "report.md")) as f:
        report = f.read()
    # mean 3, SD sqrt(7) = 2.646.
    assert ("| mnist | A | generation_kid | 500 / 450 / 350 | 3 +- 2.6 | "
            "1 / 2 / 6 |") in report
    assert "| mnist | A | generation_fd | 500 | 501 +- 1 | 500 / 501 / 502 |" \
        in report
    assert ("| mnist | B | generation_kid | 500 | 4.5 +- 0.71 | 4 / 5 "
            "(seeds 0, 1) |") in report
    assert os.path.exists(os.path.join(out, "mean_generation_fd.png"))
    assert not os.path.exists(os.path.join(out, "mean_generation_kid.png"))


def test_registered_claims_name_rows_their_suites_write():
    """A typo in a pre-registered claim would leave it never judged."""
    budget = budget_lib.Budget(num_iterations=10, num_samples=100,
                               batch_size=8, features="inception")
    written = {
        "synthetic_dim": ({"generation_fd"}, {
            synthetic_suites.WAE_GAN, "WAE (WGAN-GP critic)", "FlexAE"}),
        "latent_dim": ({f"generation_{budget.kid_label}"}, {
            f"{name} m={32 * k}" for name in ("WAE-GAN", "FlexAE-SR")
            for k in (1, 2, 4)}),
        "baselines": ({f"generation_{budget.kid_label}"},
                      set(sheets.MODEL_SHEETS)),
        "beta_sweep": ({f"generation_{budget.kid_label}"}, {
            f"{name} beta={beta:g}" for name in beta_sweep.BETA_BINDINGS
            for beta in (0.0, 0.01, 0.1, 1.0)}),
    }
    assert set(claims.CLAIMS) <= set(written)
    for suite, suite_claims in claims.CLAIMS.items():
        metrics, models = written[suite]
        for claim in suite_claims:
            assert claim.metric in metrics, claim
            assert {claim.lower, claim.higher} <= models, claim


def test_select_on_validation_reports_the_best_validation_checkpoint(
        tmp_path):
    """The protocol's selection: evaluation checkpoints over the last
    40 %, chosen by validation FD[proj-64]; the test metrics and the
    iterations column are that checkpoint's."""
    bindings = TINY_IMAGE + [
        "baselines.datasets = ('mnist',)", "baselines.models = ('WAE-GAN',)",
        "baselines.batch_size = 8", "baselines.curve_interval = 0",
        "baselines.select_on_validation = True"]
    runner.run_suite("baselines", str(tmp_path), gin_bindings=bindings,
                     iterations=5, num_samples=100)
    out = os.path.join(tmp_path, "baselines")
    report, rows = _check_outputs(out, [])
    directory = os.path.join(out, "models", "mnist_wae_gan")
    assert [it for it, _ in eval_checkpoints.list_checkpoints(directory)] == [
        3, 4, 5]
    with open(os.path.join(directory, "experiment_evaluations.json")) as f:
        cache = json.load(f)
    (scores,) = [v["scores"] for k, v in cache.items()
                 if k.startswith('["selection"')]
    best = min(scores, key=scores.get)
    assert {r["iterations"] for r in rows} == {best}
    assert "lowest validation generation FD[proj-64]" in report
    # The choice is the validation score's: rescoring the chosen
    # checkpoint by hand gives the cached number.
    model = artifacts.load_keras(os.path.join(directory, artifacts.KERAS_FILE))
    eval_checkpoints.restore(
        model, dict(eval_checkpoints.list_checkpoints(directory))[int(best)])
    rescored = selection.validation_scores(
        model, "mnist", [(int(best), None)], 100,
        features_lib.RandomProjectionFeatures(), 250, 0, {})
    assert rescored[int(best)]["fid"] == pytest.approx(scores[best],
                                                       rel=1e-4)


def test_c4_rule_by_hand():
    from flexae_tf.experiments import memorization as suite
    # The paper's Table 4 (MNIST): on the data, Gen-Tr within 5 %.
    paper_pms = {"Tr-Tr": 4.72, "Gen-Tr": 4.66, "Tr-Te": 4.77, "Gen-Te": 4.66}
    paper_ims = {"Tr-Tr": 7.11, "Gen-Tr": 7.10, "Tr-Te": 7.12, "Gen-Te": 7.12}
    verdict, reason = suite.c4_verdict(paper_pms, paper_ims)
    assert verdict == paired.HOLDS
    assert "PMS Gen-Tr -1.3 % from Tr-Tr" in reason
    # Ours at 500 iterations (results/memorization): IMS Gen-Te 30 % above
    # Tr-Te, far off the data, so C4 cannot be judged there.
    ours_pms = {"Tr-Tr": 5.482, "Gen-Tr": 6.192, "Tr-Te": 5.733,
                "Gen-Te": 6.238}
    ours_ims = {"Tr-Tr": 7.937, "Gen-Tr": 10.49, "Tr-Te": 8.126,
                "Gen-Te": 10.57}
    verdict, reason = suite.c4_verdict(ours_pms, ours_ims)
    assert verdict == suite.NOT_TESTABLE and "exceeds Tr-Te by 30 %" in reason
    # On the data but copying: Gen-Tr 20 % below Tr-Tr.
    copying = dict(paper_ims, **{"Gen-Tr": 0.8 * 7.11})
    assert suite.c4_verdict(paper_pms, copying)[0] == paired.DOES_NOT_HOLD


def test_learning_curves_tell_every_model_apart(tmp_path, monkeypatch):
    # The baselines suite draws eleven models; with the ten-colour cycle
    # alone the first and the eleventh line looked the same.
    drawn = []
    monkeypatch.setattr(plots.figures, "save",
                        lambda figure, path: drawn.append(figure))
    curves = {f"model {i}": ([500, 1000], [10.0 + i, 5.0 + i])
              for i in range(11)}
    plots.plot_curves(str(tmp_path / "curves.png"), curves, "iteration",
                      "FD", "eleven models", log_y=True)
    lines = drawn[0].axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(curves)
    assert len({(line.get_color(), line.get_linestyle())
                for line in lines}) == 11
