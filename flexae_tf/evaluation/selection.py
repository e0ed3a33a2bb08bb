"""Evaluation checkpoints and the two evaluation protocols.

Evaluation checkpoints are inference-only snapshots (encoder, decoder,
P-GEN, iteration) written every `interval` iterations over the last
`window` of training to `<model_dir>/eval_checkpoints/ckpt-<iteration>`,
apart from the resume checkpoints (which keep only the newest few) and
never deleted. `python -m flexae_tf.evaluate` scores them under one of
two protocols:

- `standard` (default): choose the checkpoint with the lowest generation
  FID against the VALIDATION split (training images held out from
  training, `data.load_images`); report that checkpoint's test-set
  reconstruction / generation FID (KID below N = 10,000), precision /
  recall, and the validation FID it was chosen by. The test set never
  influences the choice.
- `authors`: FlexAE's published protocol, for comparison with its tables
  only: every generated image and reconstruction is min-max rescaled per
  image, each checkpoint is scored on the TEST set, and the minimum over
  the window is reported (per metric, each at its own checkpoint). It
  selects on the test set, so it is optimistic; it is labelled as such in
  every result.
"""

from absl import logging
import gin

from flexae_tf.storage import checkpoints
from flexae_tf.storage import eval_checkpoints
from flexae_tf.data import datasets as data
from flexae_tf.core import errors
from flexae_tf.metrics import fid
from flexae_tf.evaluation import features as features_lib
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import results as results_store
from flexae_tf.evaluation import samples

PROTOCOLS = ("standard", "authors")


def _usable(model, candidates, skipped):
    """Restores each candidate in turn and yields it; one that cannot be
    restored (corrupt, non-finite, of another model) is named in
    `skipped` {iteration: reason} and in a warning, and left out."""
    for iteration, prefix in candidates:
        try:
            eval_checkpoints.restore(model, prefix)
        except checkpoints.CheckpointError as e:
            logging.warning("Skipping checkpoint of iteration %d: %s",
                            iteration, e)
            skipped[iteration] = str(e)
            continue
        yield iteration, prefix


def validation_scores(model, dataset, candidates, num_samples, feature_fn,
                      batch_size, seed, skipped):
    """{iteration: {"fid", "kid", ...}} of generation vs validation."""
    _, real_features = features_lib.real_features(
        dataset, "validation", num_samples, feature_fn, batch_size)
    real_stats = fid.activation_statistics(real_features)
    scores = {}
    for iteration, _ in _usable(model, candidates, skipped):
        generated = samples.generate(model, num_samples, batch_size, seed)
        scores[iteration] = model_metrics.distances(
            features_lib.featurize(generated, feature_fn, batch_size),
            real_features, real_stats)
        logging.info("Validation FID at iteration %d (N=%d): %.3f",
                     iteration, num_samples, scores[iteration]["fid"])
    return scores


@gin.configurable(denylist=["model", "dataset", "candidates", "protocol",
                            "metrics", "num_samples", "out_dir"])
def run_protocol(model, dataset, candidates, protocol, metrics,
                 num_samples, out_dir=None, features="inception",
                 batch_size=250, seed=0, feature_fn=None):
    """Scores the candidate checkpoints under `protocol`.

    Args:
      model: a built model of the run's configuration.
      dataset: dataset name.
      candidates: [(iteration, prefix)], e.g. `list_checkpoints`.
      protocol: "standard" or "authors" (see the module docstring).
      metrics: model_metrics.METRICS to report.
      num_samples: N of the reported numbers (the validation N is
        min(N, validation images)).
      out_dir: where pictures go.
      features: "inception" or "random_projection" (smoke runs).
      batch_size: images per model / feature call.
      seed: seed of the generated samples.
      feature_fn: overrides `features` (tests).

    Returns:
      (summary dict, [result entries for `results.merge`]).
    """
    if protocol not in PROTOCOLS:
        raise errors.UserError(f"Unknown protocol {protocol!r}; use one of "
                               f"{PROTOCOLS}.")
    samples.check_num_samples(num_samples)
    feature_fn = feature_fn or features_lib.feature_network(features)
    kwargs = dict(batch_size=batch_size, feature_fn=feature_fn, seed=seed)
    skipped = {}
    if protocol == "standard":
        _, validation_count = data.load_images(dataset, "validation")
        n_val = min(num_samples, validation_count)
        scores = validation_scores(model, dataset, candidates, n_val,
                                   feature_fn, batch_size, seed, skipped)
        window = _window(candidates, scores, skipped)
        best = min(scores, key=lambda it: scores[it]["fid"])
        eval_checkpoints.restore(model, dict(candidates)[best])
        results = model_metrics.evaluate(
            model, dataset, metrics, num_samples, out_dir=out_dir,
            step=best, split="test", **kwargs)
        results.update(protocol="standard", iteration=best,
                       selected_by={"split": "validation",
                                    "num_samples": n_val,
                                    "metric": "fid/generation",
                                    **scores[best],
                                    "window": window})
        if skipped:
            results["skipped"] = skipped
        entries = results_store.entries_from(
            {k: v for k, v in results.items()
             if k not in ("selected_by", "skipped")},
            protocol="standard", iteration=best)
        for iteration, score in scores.items():
            for name, value in score.items():
                if value is not None:
                    entries.append(dict(
                        protocol="standard/selection", iteration=iteration,
                        split="validation", num_samples=n_val,
                        features=results["features"],
                        metric=f"{name}/generation", value=value))
        return results, entries
    per_checkpoint = {}
    for iteration, _ in _usable(model, candidates, skipped):
        per_checkpoint[iteration] = model_metrics.evaluate(
            model, dataset, ("fid",), num_samples, out_dir=None,
            step=iteration, split="test", rescale=True, **kwargs)
    window = _window(candidates, per_checkpoint, skipped)
    first = per_checkpoint[window[0]]
    summary = {"protocol": "authors", "num_samples": num_samples,
               "split": "test", "features": first["features"],
               "note": ("min over the window of TEST-set FIDs of min-max "
                        "rescaled images (FlexAE's published protocol); "
                        "selected on the test set, so optimistic"),
               "window": window, "fid": {}, "argmin_iteration": {}}
    if skipped:
        summary["skipped"] = skipped
    entries = []
    for name in ("generation", "reconstruction"):
        values = {it: r["fid"][name] for it, r in per_checkpoint.items()}
        best = min(values, key=values.get)
        summary["fid"][name] = values[best]
        summary["argmin_iteration"][name] = best
        entries.append(dict(
            protocol="authors",
            iteration=f"min[{window[0]}..{window[-1]}]x{len(window)}",
            split="test",
            num_samples=num_samples, features=first["features"],
            metric=f"fid/{name}", value=values[best], argmin_iteration=best))
        entries += [dict(protocol="authors/per_checkpoint", iteration=it,
                         split="test", num_samples=num_samples,
                         features=first["features"], metric=f"fid/{name}",
                         value=v) for it, v in values.items()]
    return summary, entries


def _window(candidates, scored, skipped):
    """The scored iterations; one line when every candidate was bad."""
    if not scored:
        raise errors.UserError(
            f"{len(candidates)} candidate checkpoints, no usable checkpoint "
            f"among them: {'; '.join(skipped.values())}")
    return [it for it, _ in candidates if it in scored]
