r"""Throughput of FlexAE training (and other parts) on this machine.

  python tools/benchmark.py --gin_file=gin/mnist.gin [--batch_size=64] \
      [--iterations=20] [--warmup=3] [--gin_param=...]

Prints iterations/s and images/s of the training loop exactly as
`flexae_tf.main` runs it (chunks of iterations inside one tf.function),
excluding tracing and warm-up, so implementations can be compared on one
machine. Images/s counts every image an iteration reads:
batch_size * (1 + 2 * critic_steps).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flexae_tf  # pylint: disable=g-import-not-at-top,unused-import
from absl import app
from absl import flags
import gin
import tensorflow as tf

from flexae_tf import cli
from flexae_tf import data
from flexae_tf import distribute
from flexae_tf import models
from flexae_tf import train_lib

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", ["gin/mnist.gin"], "Gin files.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")
flags.DEFINE_integer("batch_size", None, "Global batch; default: gin's.")
flags.DEFINE_integer("iterations", 20, "Timed iterations.")
flags.DEFINE_integer("warmup", 3, "Untimed iterations (includes tracing).")
flags.DEFINE_integer("repeats", 3, "Timed repeats; the best is reported.")


def training_throughput(batch_size, iterations, warmup, repeats):
    """Best-of-`repeats` iterations/s of the configured training loop."""
    dataset = gin.query_parameter("train.dataset")
    jit = gin.query_parameter("train.jit_compile")
    strategy = distribute.make_strategy(gin.query_parameter("train.strategy"))
    with strategy.scope():
        model = models.make_model(data.image_shape(dataset))
        model.compile(jit_compile=jit)
    iterator = iter(strategy.distribute_datasets_from_function(
        lambda context: data.train_pipeline(
            dataset, batch_size, model.group_size, context)))
    run = train_lib.make_train_function(model, strategy, jit)
    run(iterator, tf.constant(warmup))
    float(model.trackers["recon_loss"].result())  # Wait for the device.
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(iterator, tf.constant(iterations))
        float(model.trackers["recon_loss"].result())
        rates.append(iterations / (time.perf_counter() - start))
    return max(rates), model.group_size, strategy.num_replicas_in_sync


def main(argv):
    del argv  # Unused.
    cli.parse_gin(FLAGS.gin_file, FLAGS.gin_param)
    batch_size = FLAGS.batch_size or gin.query_parameter("train.batch_size")
    rate, group, replicas = training_throughput(
        batch_size, FLAGS.iterations, FLAGS.warmup, FLAGS.repeats)
    devices = [d.name for d in tf.config.list_logical_devices()]
    print(f"config: {' '.join(FLAGS.gin_file)} {' '.join(FLAGS.gin_param)}")
    print(f"devices: {devices} ({replicas} replicas)")
    print(f"training: batch {batch_size}, {rate:.2f} iterations/s, "
          f"{rate * batch_size * group:.0f} images/s "
          f"(best of {FLAGS.repeats} x {FLAGS.iterations} iterations)")


if __name__ == "__main__":
    app.run(main)
