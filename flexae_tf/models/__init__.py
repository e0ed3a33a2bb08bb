"""The models: networks, losses, the auto-encoder base and every model.

Importing the package imports each model module, so every model class is
registered with Keras (and gin) before `keras.saving.load_model` looks
one up by name.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
