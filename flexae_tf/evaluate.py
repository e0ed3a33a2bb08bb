r"""Evaluates the latest checkpoint of a training run.

  python -m flexae_tf.evaluate --model_dir=runs/mnist \
      [--num_samples=10000] [--metrics=fid,prd,memorization] \
      [--gin_param='evaluate.features="random_projection"']

Writes `<model_dir>/eval/results_<iteration>_n<N>.json`, TensorBoard
scalars and image grids under `<model_dir>/eval/`, and PNGs under
`<model_dir>/eval/images/`.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # pylint: disable=g-import-not-at-top
from absl import flags
from absl import logging
import gin
import tensorflow as tf

from flexae_tf import checkpoints
from flexae_tf import cli
from flexae_tf import errors
from flexae_tf.metrics import model_metrics

FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Training run to evaluate.")
flags.DEFINE_integer("num_samples", 10000, "N: images per set.")
flags.DEFINE_list("metrics", ["fid"], f"Any of {model_metrics.METRICS}.")
flags.DEFINE_multi_string("gin_param", [],
                          "Extra bindings, applied after the run's config.")


def main(argv):
    if len(argv) > 1:
        cli.fail(f"Unexpected arguments {argv[1:]}.")
    if not FLAGS.model_dir:
        cli.fail("--model_dir is required (a directory written by "
                 "python -m flexae_tf.main).")
    try:
        model, iteration, dataset = checkpoints.load_trained(FLAGS.model_dir)
        try:
            gin.parse_config(FLAGS.gin_param)
        except (ValueError, SyntaxError) as e:
            raise errors.UserError(f"Bad gin binding: {e}") from e
        eval_dir = os.path.join(FLAGS.model_dir, "eval")
        logging.info("Evaluating %s (iteration %d, %s) with N=%d: %s",
                     FLAGS.model_dir, iteration, dataset, FLAGS.num_samples,
                     ",".join(FLAGS.metrics))
        writer = tf.summary.create_file_writer(eval_dir)
        with writer.as_default():
            results = model_metrics.evaluate(
                model, dataset, metrics=FLAGS.metrics,
                num_samples=FLAGS.num_samples, step=iteration,
                out_dir=os.path.join(eval_dir, "images"))
            for name, value in model_metrics.flatten(results).items():
                tf.summary.scalar(f"eval/{name}", value, step=iteration)
        results.update(iteration=iteration, dataset=dataset,
                       model_dir=os.path.abspath(FLAGS.model_dir))
        path = os.path.join(
            eval_dir, f"results_{iteration}_n{FLAGS.num_samples}.json")
        model_metrics.write_results(results, path)
    except (errors.UserError, ValueError) as e:
        cli.fail(e)
    logging.info("Results: %s", path)
    print(open(path).read())


def run():
    """Console-script entry point (pyproject.toml)."""
    app.run(main, flags_parser=cli.parse_flags)


if __name__ == "__main__":
    run()
