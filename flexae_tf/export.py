r"""Exports a trained FlexAE for TF Serving (SavedModel) and LiteRT (TFLite).

  python -m flexae_tf.export --model_dir=runs/mnist \
      --export_dir=saved_models/mnist [--version=N] [--tflite_batch=1]

writes `<export_dir>/<version>/` (SavedModel: serving_default, sample_seeded,
encode, decode, reconstruct, interpolate) and
`<export_dir>/tflite/v<version>/sampler_{float32,float16,int8}.tflite`.
TF Serving only loads integer-named children of the base path, so neither
`tflite/` nor the hidden staging directory `.export-*`, where everything is
written first, is visible to it; the SavedModel is then renamed into
place (atomic), and an existing version is never replaced. Signatures,
shapes and usage: saved_models/README.md.
"""

import os
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
from ai_edge_litert import interpreter as litert
import keras
import numpy as np
import tensorflow as tf

from flexae_tf import checkpoints
from flexae_tf import cli
from flexae_tf import errors

SIGNATURES = ("serving_default", "sample_seeded", "encode", "decode",
              "reconstruct", "interpolate")
TFLITE_DIR = "tflite"
TFLITE_VARIANTS = ("float32", "float16", "int8")
SAMPLER_KEY = "sampler"


class ExportError(errors.UserError):
    """The export cannot be written where or as asked."""


def existing_versions(export_dir):
    """Sorted integer versions under export_dir (as TF Serving sees them)."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir)
                  if name.isdigit())


def choose_version(export_dir, version=None):
    """`version` if it is free, else one above the highest existing one."""
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise ExportError(f"--export_dir={export_dir} is a file, not a "
                          "directory.")
    versions = existing_versions(export_dir)
    if version is None:
        return versions[-1] + 1 if versions else 1
    if version < 1:
        raise ExportError(f"--version={version}: versions are integers >= 1.")
    taken = [os.path.join(export_dir, str(version)),
             tflite_dir(export_dir, version)]
    for path in taken:
        if os.path.exists(path):
            raise ExportError(
                f"{path} already exists; exports never overwrite a version. "
                "Leave out --version to write the next one "
                f"({versions[-1] + 1 if versions else 1}).")
    return version


def tflite_dir(export_dir, version):
    return os.path.join(export_dir, TFLITE_DIR, f"v{version}")


def _checked(fn, *specs):
    """fn, plus a runtime shape check naming the input that is wrong.

    A restored signature only checks dtypes; a wrong shape would otherwise
    fail deep inside the network ("Matrix size-incompatible").
    """
    def checked(*inputs):
        inputs = [tf.ensure_shape(x, spec.shape, name=spec.name)
                  for x, spec in zip(inputs, specs)]
        return fn(*inputs)
    return checked, list(specs)


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
        "serving_default": _checked(
            lambda x: {"images": model.generate(x)},
            spec((None, model.noise_dim), "noise")),
        "sample_seeded": _checked(
            sample_seeded, spec((), "num_samples", tf.int32),
            spec((), "seed", tf.int64)),
        "encode": _checked(lambda x: {"z": model.encode(x)},
                           spec(image_shape, "images")),
        "decode": _checked(lambda x: {"images": model.decode(x)},
                           spec((None, model.latent_dim), "z")),
        "reconstruct": _checked(lambda x: {"images": model.reconstruct(x)},
                                spec(image_shape, "images")),
        "interpolate": _checked(
            lambda a, b, n: {"images": interpolate(model, a, b, n)},
            spec(image_shape, "image_a"), spec(image_shape, "image_b"),
            spec((), "num_steps", tf.int32)),
    }


def inference_variables(model):
    """Variables of the networks that sampling, encoding, decoding use."""
    networks = [model.encoder, model.decoder, model.prior_generator]
    return [v for net in networks if net is not None for v in net.variables]


def check_restorable(model):
    """Raises ExportError if a checkpoint cannot hold every inference weight.

    `checkpoints.load_trained` restores what `tf.train.Checkpoint` reaches
    from `model.trackables(inference_only=True)`; a variable it cannot
    reach keeps its random initial value, and exporting it would ship
    random weights without a word.
    """
    checkpoint = tf.train.Checkpoint(**model.trackables(inference_only=True))
    reachable = {id(t) for t in tf.train.TrackableView(
        checkpoint).descendants()}
    missing = [v.path for v in inference_variables(model)
               if id(v) not in reachable]
    if missing:
        raise ExportError(
            f"{len(missing)} inference variables are not in the model's "
            f"checkpoints, so they were not restored (e.g. {missing[:3]}). "
            "Layers held in a Python list are invisible to "
            "tf.train.Checkpoint with Keras 3; give each its own attribute.")


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


def write_tflite(model, out_dir, staging_dir, batch=1):
    """The sampler noise [batch, m'] -> images in each TFLITE_VARIANTS.

    Converts from a SavedModel with one static-batch `sampler` signature:
    from_concrete_functions on Keras 3 models gave weightless models, and
    a dynamic batch adds Shape/Pack ops that GPU delegates reject.

    Returns:
      {variant: path of the .tflite file}.
    """
    noise = tf.TensorSpec((batch, model.noise_dim), tf.float32, name="noise")
    sampler_dir = os.path.join(staging_dir, "sampler_saved_model")
    write_saved_model(model, sampler_dir, {SAMPLER_KEY: _checked(
        lambda x: {"images": model.generate(x)}, noise)})
    os.makedirs(out_dir)
    paths = {}
    for variant in TFLITE_VARIANTS:
        converter = tf.lite.TFLiteConverter.from_saved_model(
            sampler_dir, signature_keys=[SAMPLER_KEY])
        if variant in ("float16", "int8"):
            # int8: dynamic-range (int8 weights, float activations).
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if variant == "float16":
            converter.target_spec.supported_types = [tf.float16]
        paths[variant] = os.path.join(out_dir, f"sampler_{variant}.tflite")
        with open(paths[variant], "wb") as f:
            f.write(converter.convert())
    return paths


def export(model, export_dir, version=None, tflite_batch=1, tflite=True):
    """Writes the SavedModel (and TFLite samplers) as a new version.

    Returns:
      (version, SavedModel path, {variant: TFLite path}).
    """
    version = choose_version(export_dir, version)
    os.makedirs(export_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".export-{version}-", dir=export_dir)
    try:
        staged = os.path.join(staging, "saved_model")
        write_saved_model(model, staged, serving_endpoints(model))
        staged_tflite = os.path.join(staging, TFLITE_DIR)
        tflite_paths = (write_tflite(model, staged_tflite, staging,
                                     tflite_batch) if tflite else {})
        final = os.path.join(export_dir, str(version))
        choose_version(export_dir, version)  # Taken meanwhile?
        try:
            os.rename(staged, final)  # Atomic; fails on a non-empty target.
        except OSError as e:
            raise ExportError(f"Cannot create {final}: {e}") from e
        if tflite:
            os.makedirs(os.path.join(export_dir, TFLITE_DIR), exist_ok=True)
            os.rename(staged_tflite, tflite_dir(export_dir, version))
            tflite_paths = {
                k: os.path.join(tflite_dir(export_dir, version),
                                os.path.basename(p))
                for k, p in tflite_paths.items()}
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return version, final, tflite_paths


def _sampler(path, num_threads=None):
    return litert.Interpreter(
        model_path=path, num_threads=num_threads).get_signature_runner(
            SAMPLER_KEY)


def run_tflite(path, noise, num_threads=None):
    """Runs a TFLite sampler: noise [batch, m'] float32 -> images."""
    return _sampler(path, num_threads)(
        noise=np.asarray(noise, np.float32))["images"]


def benchmark_tflite(path, runs=50, warmup=5, num_threads=None):
    """Milliseconds per image of a TFLite sampler on this machine's CPU.

    The batch is the static one chosen at export (`--tflite_batch`).
    """
    runner = _sampler(path, num_threads)
    shape = runner.get_input_details()["noise"]["shape"]
    noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(warmup):
        runner(noise=noise)
    start = time.perf_counter()
    for _ in range(runs):
        runner(noise=noise)
    return (time.perf_counter() - start) * 1000.0 / (runs * int(shape[0]))


def directory_size(path):
    """Bytes of all files under path."""
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


FLAGS = flags.FLAGS


def define_flags():
    """CLI flags, defined only when run as a program: importing this module
    must not clash with flexae_tf.main's --model_dir in one process."""
    flags.DEFINE_string("model_dir", None,
                        "Trained run (flexae_tf.main output).")
    flags.DEFINE_string("export_dir", None,
                        "TF Serving model base path, e.g. saved_models/mnist.")
    flags.DEFINE_integer("version", None,
                         "Version to write (error if it exists); default: "
                         "one above the highest existing version.")
    flags.DEFINE_integer("tflite_batch", 1,
                         "Static batch of the TFLite sampler.")
    flags.DEFINE_bool("tflite", True, "Also write the TFLite samplers.")


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}; use --model_dir and "
                 "--export_dir.")
    if not FLAGS.model_dir or not FLAGS.export_dir:
        cli.fail("Both --model_dir and --export_dir are required.")
    if FLAGS.tflite_batch < 1:
        cli.fail(f"--tflite_batch={FLAGS.tflite_batch}: must be >= 1.")
    try:
        if not os.path.isdir(FLAGS.model_dir):
            raise ExportError(f"--model_dir={FLAGS.model_dir} does not "
                              "exist.")
        choose_version(FLAGS.export_dir, FLAGS.version)  # Fail fast.
        model, iteration, dataset = checkpoints.load_trained(FLAGS.model_dir)
        check_restorable(model)
        version, path, tflite_paths = export(
            model, FLAGS.export_dir, FLAGS.version, FLAGS.tflite_batch,
            FLAGS.tflite)
    except errors.UserError as e:
        cli.fail(e)
    logging.info("Exported %s iteration %d as version %d: %s (%d bytes)",
                 dataset, iteration, version, path, directory_size(path))
    for variant, tflite_path in tflite_paths.items():
        logging.info("TFLite %s: %s (%d bytes)", variant, tflite_path,
                     os.path.getsize(tflite_path))


if __name__ == "__main__":
    define_flags()
    app.run(main)
