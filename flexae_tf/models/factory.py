"""Which model a run trains (gin: `make_model.model_class`)."""

import gin

from flexae_tf.models import flexae


@gin.configurable(denylist=["image_shape"])
def make_model(image_shape, model_class=flexae.FlexAE, seed=None):
    """The model to train: FlexAE, or any class with its training API.

    seed: None keeps the class's own `seed` (e.g. `FlexAE.seed` in
    gin/base.gin: noise, smoothing weights, GP mixes); an integer overrides
    it for whichever class is chosen (the experiment suites' --seeds).

    A model class takes `image_shape`, and provides `compile()`,
    `train_step(groups)`, `group_size`, `trackers`, `noise_dim`,
    `trackables(inference_only)` and the inference methods `encode`,
    `decode`, `reconstruct`, `generate`, `prior_codes`, `sample`,
    `interpolate`.
    """
    if seed is None:
        return model_class(image_shape=image_shape)
    return model_class(image_shape=image_shape, seed=int(seed))
