"""FlexAE / FlexAE-SR in TensorFlow 2 and Keras 3 (Mondal et al., UAI 2021).

`import flexae_tf` registers every model class with Keras, so
`keras.saving.load_model("run/model.keras")` works after it.
"""

import os

# The model's train_step uses tf.GradientTape: Keras must run on TF. Set
# before anything imports keras.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up banners (oneDNN, CUDA probing) would bury the
# command-line programs' output; TF_CPP_MIN_LOG_LEVEL=0 shows them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

# pylint: disable=g-import-not-at-top,unused-import,wrong-import-position
from flexae_tf import models
