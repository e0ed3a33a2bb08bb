"""The SavedModel signatures a trained model is served with.

Every endpoint returns a dict (stable output names for TF Serving) and
checks its input shapes at run time, so a wrong shape fails at the
signature with the input's name, not deep inside a network. Signatures,
shapes and usage: saved_models/README.md.
"""

import keras
import tensorflow as tf

SIGNATURES = ("serving_default", "sample_seeded", "encode", "decode",
              "reconstruct", "interpolate")


def checked(fn, *specs):
    """fn, plus a runtime shape check naming the input that is wrong.

    A restored signature only checks dtypes; a wrong shape would otherwise
    fail deep inside the network ("Matrix size-incompatible").
    """
    def wrapped(*inputs):
        inputs = [tf.ensure_shape(x, spec.shape, name=spec.name)
                  for x, spec in zip(inputs, specs)]
        return fn(*inputs)
    return wrapped, list(specs)


def interpolate(model, image_a, image_b, num_steps):
    """`model.interpolate` with a tensor num_steps (for a served graph).

    Returns:
      [batch, num_steps, H, W, C]; step 0 decodes E(a), the last E(b).
    """
    checks = [
        tf.debugging.assert_equal(
            tf.shape(image_a)[0], tf.shape(image_b)[0],
            message="image_a and image_b need the same batch size"),
        tf.debugging.assert_positive(
            num_steps, message="num_steps must be >= 1")]
    with tf.control_dependencies(checks):  # Check before computing.
        codes_a, codes_b = model.encode(image_a), model.encode(image_b)
        weights = tf.linspace(0.0, 1.0, num_steps)[None, :, None]
        codes = ((1.0 - weights) * codes_a[:, None]
                 + weights * codes_b[:, None])
        images = model.decode(tf.reshape(codes, [-1, model.latent_dim]))
        return tf.reshape(images, tf.concat(
            [[-1, num_steps], list(model.image_shape)], axis=0))


def serving_endpoints(model):
    """{signature name: (fn returning a dict, input signature)}."""
    def spec(shape, name, dtype=tf.float32):
        return tf.TensorSpec(shape, dtype, name=name)
    image_shape = (None,) + tuple(model.image_shape)

    def sample_seeded(num_samples, seed):
        check = tf.debugging.assert_non_negative(
            num_samples, message="num_samples must be >= 0")
        with tf.control_dependencies([check]):
            # Stateless, as model.sample(n, seed): same seed, same images.
            noise = tf.random.stateless_normal(
                tf.stack([num_samples, model.noise_dim]),
                seed=tf.stack([seed, tf.zeros_like(seed)]))
        return {"images": model.generate(noise)}

    return {
        "serving_default": checked(
            lambda x: {"images": model.generate(x)},
            spec((None, model.noise_dim), "noise")),
        "sample_seeded": checked(
            sample_seeded, spec((), "num_samples", tf.int32),
            spec((), "seed", tf.int64)),
        "encode": checked(lambda x: {"z": model.encode(x)},
                           spec(image_shape, "images")),
        "decode": checked(lambda x: {"images": model.decode(x)},
                           spec((None, model.latent_dim), "z")),
        "reconstruct": checked(lambda x: {"images": model.reconstruct(x)},
                                spec(image_shape, "images")),
        "interpolate": checked(
            lambda a, b, n: {"images": interpolate(model, a, b, n)},
            spec(image_shape, "image_a"), spec(image_shape, "image_b"),
            spec((), "num_steps", tf.int32)),
    }


def inference_variables(model):
    """Variables of the networks that sampling, encoding, decoding use.

    Those of the layers in `model.trackables(inference_only=True)`: the
    encoder, the decoder and the model's prior (FlexAE's prior generator,
    the baselines' Gaussian mixture, ...).
    """
    layers = [item for item in model.trackables(inference_only=True).values()
              if isinstance(item, keras.layers.Layer)]
    return [v for layer in layers for v in layer.variables]


def write_saved_model(model, path, endpoints):
    """SavedModel with the given endpoints and only inference variables.

    Endpoints capture the variables they use. No `archive.track()`: with
    Keras 3.15 it stores every variable a second time (as the Keras
    variable besides its tf.Variable), doubling the file.
    """
    archive = keras.export.ExportArchive()
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=signature)
    # Same tf.Variable objects as captured: listed for inspection, not
    # stored twice.
    archive.add_variable_collection(
        "inference_variables", [v.value for v in inference_variables(model)])
    archive.write_out(path, verbose=False)
