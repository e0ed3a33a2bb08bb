r"""Trains FlexAE / FlexAE-SR from gin files.

  python -m flexae_tf.main --gin_file=gin/mnist.gin \
      [--gin_file=...] [--gin_param='train.num_iterations=1000'] \
      [--model_dir=runs/mnist]

Rerunning the same command resumes from the latest checkpoint.
"""

import os
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sys  # pylint: disable=g-import-not-at-top

from absl import app
from absl import flags
from absl import logging

from flexae_tf.training import accelerate
from flexae_tf.core import cli
from flexae_tf.core import cpu
from flexae_tf.core import errors
from flexae_tf.training import train_lib

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", [], "Gin files, applied in order.")
flags.DEFINE_multi_string(
    "gin_param", [], "Extra bindings, e.g. 'train.num_iterations=1000'.")
flags.DEFINE_string("model_dir", None,
                    "Output directory; default runs/<every gin file name, "
                    "joined by +>, e.g. runs/mnist+wae_gan.")


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}; use --gin_file, "
                 "--gin_param and --model_dir.")
    if not FLAGS.gin_file:
        cli.fail("No --gin_file given; e.g. --gin_file=gin/mnist.gin.")
    cli.parse_gin(FLAGS.gin_file, FLAGS.gin_param)
    model_dir = FLAGS.model_dir or cli.default_model_dir(FLAGS.gin_file)
    try:
        logging.info("%s", cpu.describe())
        train_lib.train(model_dir)
    except errors.UserError as e:
        cli.fail(errors.first_line(e))
    except train_lib.Interrupted as e:  # SIGTERM/SIGINT, checkpoint written.
        print(f"stopped: {errors.first_line(e)}", file=sys.stderr)
        sys.exit(train_lib.INTERRUPTED_STATUS)
    logging.info("Done: %s", model_dir)


def run():
    """Console-script entry point (pyproject.toml)."""
    accelerate.reserve_compilation_cache()  # Before app.run lists devices.
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
