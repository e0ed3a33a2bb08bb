"""Imports of the optional extras (pyproject.toml), with a clear error.

A training-only install (`pip install flexae_tf`) lacks the packages of
the TFLite interpreter, the TF Serving client and the FID-weights rebuild
tool; the code that needs one imports it through `require` when called.
"""

import importlib

from flexae_tf.core import errors


class MissingExtra(errors.UserError):
    """An optional dependency is not installed."""


def require(module, extra):
    """`importlib.import_module(module)`, or a one-line install hint.

    Raises:
      MissingExtra: naming the extra that provides `module`.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingExtra(
            f"{module} is not installed; it comes with the '{extra}' extra: "
            f"pip install 'flexae_tf[{extra}]'.") from e
