"""Gin + Keras glue: the one way this project makes a Keras class configurable.

`gin.configurable` replaces `__init__` with a `(*args, **kwargs)` wrapper.
Keras' `Operation.__new__` reads the constructor's argspec with
`inspect.getfullargspec`, which does not follow `__wrapped__`, and fails on
that wrapper (IndexError in keras/src/ops/operation.py). Restoring the
original signature on the wrapper keeps both libraries happy.
"""

import inspect

import gin
import keras


def keras_configurable(denylist=None):
    """Like `@gin.configurable(denylist=...)`, for Keras layers and models."""

    def decorate(cls):
        signature = inspect.signature(cls.__init__)
        cls = gin.configurable(denylist=denylist)(cls)
        cls.__init__.__signature__ = signature
        return cls

    return decorate


# Callbacks users add to a run from gin: `train.callbacks = [@EarlyStopping()]`.
for _callback in (keras.callbacks.EarlyStopping, keras.callbacks.CSVLogger,
                  keras.callbacks.BackupAndRestore,
                  keras.callbacks.TensorBoard):
    gin.external_configurable(_callback, module="keras.callbacks")
