"""FusedAdam: Keras Adam's steps, in one TensorFlow kernel per variable."""

import flexae_tf  # pylint: disable=unused-import
import keras
import numpy as np
import tensorflow as tf

from flexae_tf.models import optimizers


def _run(optimizer_cls, gradients, **kwargs):
    variables = [keras.Variable(np.full(g[0].shape, 0.3, np.float32))
                 for g in gradients]
    optimizer = optimizer_cls(**kwargs)
    optimizer.build(variables)
    apply = tf.function(lambda grads: optimizer.apply(grads, variables))
    for step in range(len(gradients[0])):
        apply([tf.constant(g[step]) for g in gradients])
    return ([v.numpy() for v in variables], optimizer,
            apply.get_concrete_function([tf.constant(g[0])
                                         for g in gradients]))


def test_fused_adam_takes_keras_adams_steps_in_one_kernel():
    rng = np.random.default_rng(0)
    # Two variables, five steps of gradients of different scales.
    gradients = [rng.normal(size=(5, 33, 7)).astype(np.float32),
                 (1e-3 * rng.normal(size=(5, 64))).astype(np.float32)]
    settings = dict(learning_rate=2e-4, beta_1=0.5, beta_2=0.9,
                    epsilon=1e-8, name="image_critic_optimizer")
    fused, fused_optimizer, graph = _run(optimizers.FusedAdam, gradients,
                                         **settings)
    keras_weights, keras_optimizer, keras_graph = _run(
        keras.optimizers.Adam, gradients, **settings)
    for a, b in zip(fused, keras_weights):
        assert not np.allclose(a, 0.3)  # They moved.
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    # Same slots (checkpoints are interchangeable), same step count.
    assert int(fused_optimizer.iterations) == 5
    assert len(fused_optimizer.variables) == len(keras_optimizer.variables)
    for a, b in zip(fused_optimizer.variables, keras_optimizer.variables):
        # iteration, learning_rate, then each variable's momentum, velocity.
        assert a.path.rsplit("_", 1)[-1] == b.path.rsplit("_", 1)[-1]
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6,
                                   atol=1e-9)
    ops = lambda g: [op.type for op in g.graph.get_operations()]
    assert ops(graph).count("ResourceApplyAdam") == 2
    assert "ResourceApplyAdam" not in ops(keras_graph)


def test_the_models_optimizers_are_fused():
    optimizer = optimizers.build("image_critic",
                                 [keras.Variable(np.zeros(3, np.float32))])
    assert isinstance(optimizer, optimizers.FusedAdam)
    assert (optimizer.beta_1, optimizer.beta_2) == (0.5, 0.9)
