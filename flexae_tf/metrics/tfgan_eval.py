"""TF-GAN's classifier metrics (FID, KID) on TensorFlow >= 2.16.

Why this module exists: `import tensorflow_gan` fails on TF >= 2.16 with
`AttributeError: module 'tensorflow' has no attribute 'estimator'`
(tensorflow/gan#55, still open for tensorflow-gan 2.1.0). The package
`__init__` imports `tensorflow_gan.python`, whose `__init__` imports the
Estimator and train modules, which use `tf.estimator`, removed in TF 2.16.
Importing only `tensorflow_gan.python.eval` does not help: Python runs every
parent package's `__init__` first, and `eval/__init__` itself imports
`inception_metrics` (TF-Hub) and the summaries.

The metric code we need, `eval/classifier_metrics.py`, only imports
tensorflow, tensorflow_probability (for `tfp.stats.covariance`) and
`eval_utils`. So, when `tf.estimator` is missing, we put bare module objects
for `tensorflow_gan`, `tensorflow_gan.python` and `tensorflow_gan.python.eval`
into `sys.modules`, with `__path__` set to the installed package directories
so that their submodules still resolve, import `classifier_metrics`, and
then take the bare packages out of `sys.modules` again.

Behaviour afterwards: `classifier_metrics` and `eval_utils` stay loaded
(`sys.modules["tensorflow_gan.python.eval.classifier_metrics"]`). A later
`import tensorflow_gan` elsewhere runs the real package `__init__` and fails
exactly as it would without this module; we never leave a half-empty
`tensorflow_gan` behind for it to pick up. Where TF still has `tf.estimator`
(TF <= 2.15) the normal import is used and nothing is patched.

Importing this module pulls in tensorflow_probability (>= 0.24 wants the
`tf-keras` package next to Keras 3), but not TF-Hub.
"""

import importlib
import importlib.util
import os
import sys
import types

import tensorflow as tf

_PACKAGES = ("tensorflow_gan", "tensorflow_gan.python",
             "tensorflow_gan.python.eval")
_TARGET = "tensorflow_gan.python.eval.classifier_metrics"


def _bare_package(name, path):
    module = types.ModuleType(name, f"Bare stand-in for {name} (see "
                              f"{__name__}); its __init__ was not run.")
    module.__path__ = [path]
    module.__package__ = name
    module.__spec__ = importlib.util.spec_from_file_location(
        name, os.path.join(path, "__init__.py"),
        submodule_search_locations=[path])
    return module


def _import_classifier_metrics():
    """Imports TF-GAN's classifier_metrics without its parents' __init__."""
    if hasattr(tf, "estimator") or _TARGET in sys.modules:
        return importlib.import_module(_TARGET)
    spec = importlib.util.find_spec("tensorflow_gan")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("tensorflow_gan is not installed "
                          "(pip install tensorflow-gan==2.1.0)")
    root = list(spec.submodule_search_locations)[0]
    saved = {name: sys.modules.get(name) for name in _PACKAGES}
    for name in _PACKAGES:
        sub = name.split(".")[1:]
        sys.modules[name] = _bare_package(name, os.path.join(root, *sub))
    try:
        return importlib.import_module(_TARGET)
    finally:
        # Drop the stand-ins so a later real import behaves as usual.
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


classifier_metrics = _import_classifier_metrics()

frechet_classifier_distance_from_activations = (
    classifier_metrics.frechet_classifier_distance_from_activations)
kernel_classifier_distance = classifier_metrics.kernel_classifier_distance
kernel_classifier_distance_from_activations = (
    classifier_metrics.kernel_classifier_distance_from_activations)
trace_sqrt_product = classifier_metrics.trace_sqrt_product
kernel_classifier_distance_and_std_from_activations = (
    classifier_metrics.kernel_classifier_distance_and_std_from_activations)
