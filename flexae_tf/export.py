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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
import tensorflow as tf

from flexae_tf import checkpoints
from flexae_tf import cli
from flexae_tf import errors
from flexae_tf.serving import signatures
from flexae_tf.serving import tflite as tflite_lib

TFLITE_DIR = "tflite"


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
    missing = [v.path for v in signatures.inference_variables(model)
               if id(v) not in reachable]
    if missing:
        raise ExportError(
            f"{len(missing)} inference variables are not in the model's "
            f"checkpoints, so they were not restored (e.g. {missing[:3]}). "
            "Layers held in a Python list are invisible to "
            "tf.train.Checkpoint with Keras 3; give each its own attribute.")


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
        signatures.write_saved_model(model, staged,
                                       signatures.serving_endpoints(model))
        staged_tflite = os.path.join(staging, TFLITE_DIR)
        tflite_paths = (tflite_lib.write_tflite(
            model, staged_tflite, staging, tflite_batch) if tflite else {})
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
