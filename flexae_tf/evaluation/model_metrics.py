"""Evaluation of a trained model: the paper's numbers and pictures.

- FID (Heusel et al.) of generated samples and of test reconstructions
  against the test images (paper Tables 1, 3), with KID beside it below
  N = 10,000, where FID's bias dominates;
- precision / recall for distributions (Sajjadi et al. 2018; Table 2);
- pixel and feature-space memorization scores (Sec. 4.2.3, Table 4) for
  the Tr-Tr, Gen-Tr, Tr-Te and Gen-Te pairs, with nearest-neighbour grids;
- latent interpolation grids between test images.

`evaluate` samples the model once, passes every image set through the
feature network once (real images' features come from the cache of
`features.real_features`), calls one function per metric, and writes the
pictures those return. Every result states its sample count N, reference
split and feature network: FIDs at different N do not compare.
"""

import time

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from flexae_tf.core import errors
from flexae_tf.core import summaries
from flexae_tf.evaluation import features as features_lib
from flexae_tf.evaluation import samples
from flexae_tf.metrics import fid
from flexae_tf.models import interpolation
from flexae_tf.metrics import kid
from flexae_tf.metrics import memorization
from flexae_tf.metrics import prd

METRICS = ("fid", "kid", "prd", "memorization")
MEMORIZATION_PAIRS = ("Tr-Tr", "Gen-Tr", "Tr-Te", "Gen-Te")


def _timed(what, fn, count):
    """fn(), logged with its images/s."""
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    logging.info("%s: %d images in %.1f s (%.1f images/s)", what, count,
                 seconds, count / max(seconds, 1e-9))
    return result


def distances(features, reference_features, reference_stats=None):
    """FID (always) and KID (when N < kid.FID_RELIABLE_N) to a reference.

    The one way every reported FID is computed (`fid.fid_to_reference`).
    """
    reference_stats = reference_stats or fid.activation_statistics(
        reference_features)
    out = {"fid": fid.fid_to_reference(features, reference_stats)}
    if len(features) < kid.FID_RELIABLE_N:
        out.update(kid.kid_from_activations(reference_features, features))
    return out


def fid_and_kid(scored, reference_features, metrics):
    """{"fid"?, "kid"?, "kid_std"?} of each {name: features} in `scored`."""
    results, scores = {}, {name: {} for name in scored}
    if "fid" in metrics:
        reference = fid.activation_statistics(reference_features)
        for name, feats in scored.items():
            scores[name] = distances(feats, reference_features, reference)
        results["fid"] = {k: v["fid"] for k, v in scores.items()}
    if "kid" in metrics:  # KID needs no full-rank covariance: any N works.
        for name, feats in scored.items():
            if "kid" not in scores[name]:
                scores[name].update(
                    kid.kid_from_activations(reference_features, feats))
    if any("kid" in v for v in scores.values()):
        results["kid"] = {k: v["kid"] for k, v in scores.items()}
        results["kid_std"] = {k: v["kid_std"] for k, v in scores.items()
                              if v.get("kid_std") is not None}
    return results


def prd_scores(generated_features, reference_features, label, title):
    """({"precision", "recall"}, the PRD curve as an [H, W, 3] picture)."""
    scores = prd.compute_prd_scores(generated_features, reference_features)
    png = prd.plot_prd({label: (scores["precision_curve"],
                                scores["recall_curve"])}, title)
    picture = tf.io.decode_png(png, channels=3).numpy() / 255.0
    return ({"precision": scores["precision"], "recall": scores["recall"]},
            picture)


def memorization_scores(generated, train_a, train_b, test, generated_images,
                        train_images):
    """The four pairs of Table 4 in one space, and a grid of each of eight
    samples beside its four nearest training neighbours."""
    pairs = {"Tr-Tr": (train_a, train_b), "Gen-Tr": (generated, train_b),
             "Tr-Te": (train_a, test), "Gen-Te": (generated, test)}
    scores = {name: memorization.memorization_score(a, b)["score"]
              for name, (a, b) in pairs.items()}
    idx, _ = memorization.nearest_neighbors(generated[:8], train_b, k=4)
    rows = [np.concatenate([generated_images[i:i + 1], train_images[idx[i]]])
            for i in range(len(idx))]
    return scores, summaries.image_grid(np.concatenate(rows), columns=5)


def _check(metrics, num_samples):
    samples.check_num_samples(num_samples)
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise errors.UserError(f"Unknown metrics {sorted(unknown)}; choose "
                               f"from {METRICS}.")


@gin.configurable(denylist=["model", "dataset", "out_dir", "step", "split",
                            "rescale"])
def evaluate(model, dataset, metrics=("fid",), num_samples=10000,
             batch_size=250, features="inception", feature_fn=None, seed=0,
             out_dir=None, step=0, split="test", rescale=False):
    """Computes `metrics` for a trained model and writes its pictures.

    Args:
      model: an `autoencoder.AutoEncoderModel`.
      dataset: dataset name (the split's images are the reference).
      metrics: any of "fid" (with KID where N < 10,000), "kid" (KID
        alone, at any N), "prd", "memorization".
      num_samples: N, images per set.
      batch_size: images per model / feature call.
      features: one of `features.FEATURES` ("random_projection" for
        smoke runs and learning curves only).
      feature_fn: overrides `features` with any images -> [b, d] callable.
      seed: seed of the generated samples.
      out_dir: where PNG grids go (TensorBoard gets them when a default
        summary writer is set); None: TensorBoard only.
      step: step of the summaries.
      split: reference images, "test" (reported numbers) or "validation"
        (model selection).
      rescale: min-max rescale every generated image and reconstruction
        first (`samples.minmax_rescale`; the `authors` protocol only).

    Returns:
      {"num_samples", "features", "split", "fid": {"reconstruction",
       "generation"}, "kid": {...} (N < 10,000), "prd": {"precision",
       "recall"}, "memorization": {"pixel": {...}, <space>: {...}}},
       with only the requested metrics; <space> names the features
       actually used ("inception", "random_projection", else `features`).
    """
    _check(metrics, num_samples)
    post = samples.minmax_rescale if rescale else np.asarray
    feature_fn = feature_fn or features_lib.feature_network(features)
    protocol = features_lib.protocol(feature_fn)
    space = getattr(feature_fn, "space", features)
    n = num_samples
    featurize = lambda x: features_lib.featurize(x, feature_fn, batch_size)
    real = lambda name, count, **kw: _timed(
        f"features of {name} images", lambda: features_lib.real_features(
            dataset, name, count, feature_fn, batch_size, **kw), count)
    test, test_features = real(split, n)
    generated = post(_timed(
        "sampling", lambda: samples.generate(model, n, batch_size, seed), n))
    gen_features = _timed("features of samples", lambda: featurize(generated),
                          n)
    results = {"num_samples": n, "features": protocol, "split": split,
               "fid_implementation": fid.IMPLEMENTATION}
    pictures = {}
    if "fid" in metrics or "kid" in metrics:
        recon = post(_timed("reconstructions", lambda: samples.reconstruct(
            model, test, batch_size), n))
        recon_features = _timed("features of reconstructions",
                                lambda: featurize(recon), n)
        results.update(fid_and_kid({"generation": gen_features,
                                    "reconstruction": recon_features},
                                   test_features, metrics))
    if "prd" in metrics:
        results["prd"], pictures["prd"] = prd_scores(
            gen_features, test_features, f"iteration {step}",
            f"PRD vs {split}, N={n}, {protocol}")
    if "memorization" in metrics:
        # Two non-overlapping training subsets, so Tr-Tr is not trivially 0.
        train_a, features_a = real("train", n)
        train_b, features_b = real("train", n, skip=n)
        results["memorization"] = {}
        for name, spaces in (("pixel", (generated, train_a, train_b, test)),
                             (space, (gen_features, features_a, features_b,
                                      test_features))):
            results["memorization"][name], pictures[
                f"nearest_neighbours_{name}"] = memorization_scores(
                    *spaces, generated, train_b)
    pairs = test[:16]
    pictures["eval_interpolations"] = summaries.image_grid(np.reshape(
        model.interpolate(pairs[0::2], pairs[1::2], 10,
                          interpolation.interpolation_method()),
        (-1,) + model.image_shape), columns=10)
    pictures["eval_samples"] = summaries.image_grid(generated[:64])
    for tag, picture in pictures.items():
        summaries.write_image(tag, picture, step, out_dir)
    return results


def flatten(results, prefix=""):
    """{"fid": {"generation": x}} -> {"fid/generation": x} for summaries."""
    flat = {}
    for key, value in results.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)):
            flat[f"{prefix}{key}"] = value
    return flat

