"""One Adam optimizer per (loss, variable set) of FlexAE-SR.

A Keras optimizer is bound to the variables it was built with, so each of
the six updates has its own. `AUTHORS_ADAM` is the one place the defaults
live (the authors' settings); each can be overridden in gin with the role as
scope, e.g. `latent_critic/make_optimizer.learning_rate = 5e-5`.
"""

import gin
import keras
from keras import ops
import tensorflow as tf

from flexae_tf.core import precision

# role: (learning_rate, beta_1, beta_2), from the authors' code.
AUTHORS_ADAM = {
    "reconstruction": (2e-4, 0.9, 0.999),
    "encoder_adversarial": (1e-5, 0.0, 0.9),
    "smoothing": (2e-4, 0.5, 0.9),
    "prior_generator": (2e-4, 0.0, 0.9),
    "latent_critic": (1e-4, 0.0, 0.9),
    "image_critic": (2e-4, 0.5, 0.9),
}
ROLES = tuple(AUTHORS_ADAM)


def _handle(variable):
    """The resource handle of a Keras or TensorFlow variable (inside a
    strategy's update call, the one on the current device)."""
    return (variable.value if isinstance(variable, keras.Variable)
            else variable).handle


@keras.saving.register_keras_serializable("flexae_tf")
class FusedAdam(keras.optimizers.Adam):
    """Keras' Adam, each variable's update in one TensorFlow kernel.

    Keras 3 writes the update as twelve element-wise ops per variable, each
    a pass over the whole tensor; `ResourceApplyAdam` (TF1's AdamOptimizer,
    which the authors used) computes the same formula in one pass:
    alpha = lr sqrt(1 - b2^t) / (1 - b1^t), m += (g - m)(1 - b1),
    v += (g^2 - v)(1 - b2), var -= alpha m / (sqrt(v) + epsilon).
    On a 2-core CPU that is 5.8 instead of 20 ms per update of a
    6.4M-weight layer, and FlexAE-SR makes 14 updates per iteration
    (docs/speed.md). Variables, slots and checkpoints are Keras Adam's;
    `tests/optimizers_test.py` checks the steps against it. Where the
    fused kernel does not apply (amsgrad, sparse gradients, another
    backend) Keras' own update runs.
    """

    def update_step(self, gradient, variable, learning_rate):
        if (self.amsgrad or keras.backend.backend() != "tensorflow"
                or isinstance(gradient, tf.IndexedSlices)):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = ops.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        cast = lambda value: ops.cast(value, dtype)
        return tf.raw_ops.ResourceApplyAdam(
            var=_handle(variable), m=_handle(self._momentums[index]),
            v=_handle(self._velocities[index]),
            beta1_power=ops.power(cast(self.beta_1), step),
            beta2_power=ops.power(cast(self.beta_2), step),
            lr=cast(learning_rate), beta1=cast(self.beta_1),
            beta2=cast(self.beta_2), epsilon=cast(self.epsilon),
            grad=cast(gradient), use_locking=False)


@gin.configurable(denylist=["role", "learning_rate_scale"])
def make_optimizer(role, learning_rate=None, beta_1=None, beta_2=None,
                   epsilon=1e-8, learning_rate_scale=1.0):
    """Adam for `role`; unset arguments take the role's paper setting.

    epsilon 1e-8 is TF1's AdamOptimizer default, which the authors used
    (Keras' own default is 1e-7). `learning_rate_scale` multiplies the
    rate here, as a number: once Adam holds it, it is a variable, and a
    mirrored one under MirroredStrategy, which float() cannot read.
    """
    paper_lr, paper_b1, paper_b2 = AUTHORS_ADAM[role]
    rate = paper_lr if learning_rate is None else learning_rate
    return FusedAdam(
        learning_rate=rate * learning_rate_scale,
        beta_1=paper_b1 if beta_1 is None else beta_1,
        beta_2=paper_b2 if beta_2 is None else beta_2,
        epsilon=epsilon,
        name=f"{role}_optimizer",
    )


def build(role, variables, learning_rate_scale=1.0):
    """Makes the `role` optimizer (gin scope `role`) and builds its slots.

    Args:
      role: one of ROLES, also the gin scope.
      variables: the variables this optimizer updates, and only those.
      learning_rate_scale: multiplies the configured learning rate. Adam's
        step does not change when its loss is scaled, so a loss weight
        acting through an update of its own must scale the rate instead
        (FlexAE's lambda in `encoder_adversarial_mode='separate'`).

    Building eagerly, inside the strategy scope and before the first step,
    avoids the Keras 3 + tf.distribute failure of optimizers first built
    while a distributed train_step is traced ("You must feed a value for
    placeholder tensor", keras-team/keras#23085).
    """
    with gin.config_scope(role):
        optimizer = make_optimizer(role,
                                   learning_rate_scale=learning_rate_scale)
    optimizer = precision.loss_scaled(optimizer)  # float16 only
    optimizer.build(variables)
    return optimizer
