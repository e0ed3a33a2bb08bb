r"""Exports a trained FlexAE for TF Serving (SavedModel) and LiteRT (TFLite).

  python -m flexae_tf.export --model_dir=runs/mnist \
      --export_dir=saved_models/mnist [--version=N] [--tflite_batch=1]

(`flexae-export` once installed; `--model_dir` may also be a `.keras` file)

writes `<export_dir>/<version>/` (SavedModel: serving_default, sample_seeded,
encode, decode, reconstruct, interpolate) and
`<export_dir>/tflite/v<version>/sampler_{float32,float16,int8}.tflite`.
TF Serving only loads integer-named children of the base path, so neither
`tflite/` nor the hidden staging directory `.export-<version>.tmp-<pid>`
(removed by the next export if a kill -9 leaves it), where everything is
written first, is visible to it; the SavedModel is then renamed into
place (atomic), and an existing version is never replaced. Signatures,
shapes and usage: saved_models/README.md.
"""

import os
import re
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # pylint: disable=g-import-not-at-top
from absl import logging
import numpy as np
import tensorflow as tf

from flexae_tf.storage import artifacts
from flexae_tf.core import cli
from flexae_tf.core import files
from flexae_tf.core import errors
from flexae_tf.serving import signatures
from flexae_tf.serving import tflite as tflite_lib

TFLITE_DIR = "tflite"
# TF Serving parses version directory names as int64.
MAX_VERSION = 2**63 - 1


class ExportError(errors.UserError):
    """The export cannot be written where or as asked."""


def existing_versions(export_dir):
    """Sorted integer versions under export_dir (as TF Serving sees them)."""
    if not os.path.isdir(export_dir):
        return []
    return sorted(int(name) for name in os.listdir(export_dir)
                  if re.fullmatch("[0-9]+", name))


def _tflite_versions(export_dir):
    directory = os.path.join(export_dir, TFLITE_DIR)
    if not os.path.isdir(directory):
        return []
    return [int(name[1:]) for name in os.listdir(directory)
            if re.fullmatch("v[0-9]+", name)]


def _check_writable_location(export_dir):
    """ExportError if export_dir is, or lies under, something not a dir."""
    path = os.path.abspath(export_dir)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            return
        path = parent
    if not os.path.isdir(path):
        where = ("is a file" if path == os.path.abspath(export_dir)
                 else f"lies under the file {path}")
        raise ExportError(
            f"--export_dir={export_dir} {where}, not a directory.")


def choose_version(export_dir, version=None):
    """`version` if it is free, else the next free one.

    The next free version is one above every existing version, counting
    TFLite leftovers (`tflite/v<N>` without `<N>/`) too: they would block
    the SavedModel's twin, and exports never overwrite.
    """
    _check_writable_location(export_dir)
    used = existing_versions(export_dir) + _tflite_versions(export_dir)
    following = max(used) + 1 if used else 1
    if version is None:
        if following > MAX_VERSION:
            raise ExportError(f"{export_dir} already holds version "
                              f"{following - 1}, the largest TF Serving "
                              "reads; use a new --export_dir.")
        return following
    if not 1 <= version <= MAX_VERSION:
        raise ExportError(f"--version={version}: versions are integers "
                          f"from 1 to {MAX_VERSION} (int64, TF Serving).")
    for path in (os.path.join(export_dir, str(version)),
                 tflite_dir(export_dir, version)):
        if os.path.exists(path):
            raise ExportError(
                f"{path} already exists; exports never overwrite a version. "
                f"Leave out --version to write the next one ({following}).")
    return version


def tflite_dir(export_dir, version):
    return os.path.join(export_dir, TFLITE_DIR, f"v{version}")


def check_finite(model):
    """ExportError if an inference weight is NaN or infinite.

    A run that diverged right before a checkpoint can leave one; served,
    it answers NaN to every request.
    """
    bad = [v.path for v in signatures.inference_variables(model)
           if not np.all(np.isfinite(np.asarray(v.numpy(), np.float64)))]
    if bad:
        raise ExportError(
            f"{len(bad)} inference weights hold NaN or infinite values "
            f"(e.g. {', '.join(bad[:3])}); refusing to export. Export an "
            "earlier checkpoint or retrain with lower learning rates.")


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

    Raises:
      ExportError: non-finite weights, a taken version, or export_dir
        cannot be written; nothing is written then.
    """
    check_finite(model)
    requested = version
    version = choose_version(export_dir, version)
    # Named as core/files names temporaries, so the next export (or a
    # training start) removes what a kill -9 leaves here.
    staging = os.path.join(export_dir, f".export-{version}.tmp-{os.getpid()}")
    try:
        os.makedirs(export_dir, exist_ok=True)
        for path in files.remove_stale_temporaries(export_dir):
            logging.info("Removed %s, left by a killed export.", path)
        shutil.rmtree(staging, ignore_errors=True)  # This process's own.
        os.makedirs(staging)
    except OSError as e:
        raise ExportError(f"Cannot write to --export_dir={export_dir}: "
                          f"{e.strerror or e}.") from e
    try:
        staged = os.path.join(staging, "saved_model")
        signatures.write_saved_model(model, staged,
                                       signatures.serving_endpoints(model))
        staged_tflite = os.path.join(staging, TFLITE_DIR)
        tflite_paths = (tflite_lib.write_tflite(
            model, staged_tflite, staging, tflite_batch) if tflite else {})
        final = os.path.join(export_dir, str(version))
        if requested is None and version != choose_version(export_dir):
            raise ExportError(f"Version {version} of {export_dir} was "
                              "written by another export meanwhile; "
                              "export again.")
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
                        "Trained run (flexae_tf.main output) or a .keras "
                        "file.")
    flags.DEFINE_string("export_dir", None,
                        "TF Serving model base path, e.g. saved_models/mnist.")
    flags.DEFINE_integer("version", None,
                         "Version to write (error if it exists); default: "
                         "one above the highest existing version.",
                         lower_bound=1, upper_bound=MAX_VERSION)
    flags.DEFINE_integer("tflite_batch", 1,
                         "Static batch of the TFLite sampler.",
                         lower_bound=1)
    flags.DEFINE_bool("tflite", True, "Also write the TFLite samplers.")


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}; use --model_dir and "
                 "--export_dir.")
    if not FLAGS.model_dir or not FLAGS.export_dir:
        cli.fail("Both --model_dir and --export_dir are required.")
    try:
        if not os.path.exists(FLAGS.model_dir):
            raise ExportError(f"--model_dir={FLAGS.model_dir} does not "
                              "exist.")
        choose_version(FLAGS.export_dir, FLAGS.version)  # Fail fast.
        model, iteration, dataset = artifacts.load_model_or_run(
            FLAGS.model_dir)
        if os.path.isdir(FLAGS.model_dir):
            check_restorable(model)  # Loaded from a checkpoint.
        version, path, tflite_paths = export(
            model, FLAGS.export_dir, FLAGS.version, FLAGS.tflite_batch,
            FLAGS.tflite)
    except errors.UserError as e:
        cli.fail(e)
    logging.info("Exported %s iteration %d as version %d: %s (%d bytes)",
                 dataset or FLAGS.model_dir, iteration, version, path,
                 directory_size(path))
    for variant, tflite_path in tflite_paths.items():
        logging.info("TFLite %s: %s (%d bytes)", variant, tflite_path,
                     os.path.getsize(tflite_path))


def run():
    """Console-script entry point (pyproject.toml)."""
    define_flags()
    cli.run(main)


if __name__ == "__main__":
    run()
