"""train()'s arguments, checked before any work: one line each."""

import keras

from flexae_tf.evaluation import features as features_lib
from flexae_tf.core import errors
from flexae_tf.evaluation import model_metrics


def check_values(seed, callbacks, warm_start_from, eval_num_samples):
    """The remaining train() values, before any work."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise errors.UserError(
            f"train.seed={seed!r}: must be an integer >= 0.")
    if (not isinstance(callbacks, (list, tuple)) or not all(
            isinstance(c, keras.callbacks.Callback) for c in callbacks)):
        raise errors.UserError(
            f"train.callbacks={callbacks!r}: must be a list of Keras "
            "callbacks, e.g. [@EarlyStopping()].")
    if warm_start_from is not None and not isinstance(warm_start_from, str):
        raise errors.UserError(
            f"train.warm_start_from={warm_start_from!r}: must be a "
            "model_dir path (a string) or None.")
    errors.check_positive("train.", eval_num_samples=eval_num_samples)


def check_arguments(num_iterations, eval_interval, eval_metrics,
                    eval_features, **positive):
    """Counts and intervals, and the periodic evaluation's settings."""
    for name, value in dict(positive, num_iterations=num_iterations).items():
        if isinstance(value, bool):  # True is an int in Python.
            raise errors.UserError(
                f"train.{name}={value!r}: must be a positive integer.")
    errors.check_positive("train.", num_iterations=num_iterations,
                          **positive)
    if (isinstance(eval_interval, bool) or not isinstance(eval_interval, int)
            or eval_interval < 0):
        raise errors.UserError(f"train.eval_interval={eval_interval!r}: "
                               "must be 0 (never) or a positive integer.")
    unknown = sorted(set(eval_metrics) - set(model_metrics.METRICS))
    if eval_interval and unknown:
        raise errors.UserError(
            f"train.eval_metrics: unknown {unknown}; choose from "
            f"{model_metrics.METRICS}.")
    if eval_interval and eval_features not in features_lib.FEATURES:
        raise errors.UserError(
            f"train.eval_features={eval_features!r}: choose from "
            f"{features_lib.FEATURES}.")
