"""FlexAE / FlexAE-SR in TensorFlow 2 and Keras 3 (Mondal et al., UAI 2021)."""

import os

# The model's train_step uses tf.GradientTape: Keras must run on TF. Set
# before anything imports keras.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
