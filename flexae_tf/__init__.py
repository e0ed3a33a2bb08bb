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

# oneDNN on x86 CPUs where TensorFlow leaves it off (AVX2-only CPUs), unless
# the user set TF_ENABLE_ONEDNN_OPTS: must run before TensorFlow is imported
# (flexae_tf/core/cpu.py says why and what library users do instead).
from flexae_tf.core import cpu as _cpu  # pylint: disable=g-import-not-at-top

_cpu.prefer_onednn()

__version__ = "0.1.0"

# pylint: disable=g-import-not-at-top,unused-import,wrong-import-position
from flexae_tf import models
