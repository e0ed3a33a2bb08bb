r"""Throughput of FlexAE's parts on this machine.

  python tools/benchmark.py --gin_file=gin/mnist.gin [--batch_size=64] \
      [--iterations=20] [--warmup=3] [--gin_param=...] \
      [--parts=training,inception]

- training: iterations/s and images/s of the training loop exactly as
  `flexae_tf.main` runs it (chunks of iterations inside one tf.function),
  excluding tracing and warm-up, so implementations can be compared on one
  machine. Images/s counts every image an iteration reads:
  batch_size * (1 + 2 * critic_steps).
- inception: images/s of FID feature extraction (preprocessing + the
  Inception network) on the dataset's image size.
- tflite: file size and CPU latency per image of the TFLite samplers
  (float32, float16, int8) of the configured model (weights do not change
  the timing, so an untrained model is converted).
- --workers=N: training iterations/s with N local MultiWorkerMirrored
  processes (on one machine this measures overhead, not speed-up).
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flexae_tf  # pylint: disable=g-import-not-at-top,unused-import
from absl import app
from absl import flags
import gin
import numpy as np
import tensorflow as tf

from flexae_tf import cli
from flexae_tf import data
from flexae_tf import distribute
from flexae_tf.serving import tflite
from flexae_tf.metrics import inception
from flexae_tf.models import factory
from flexae_tf import train_lib
from tools import launch_local_workers

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("gin_file", ["gin/mnist.gin"], "Gin files.")
flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")
flags.DEFINE_integer("batch_size", None, "Global batch; default: gin's.")
flags.DEFINE_integer("iterations", 20, "Timed iterations.")
flags.DEFINE_integer("warmup", 3, "Untimed iterations (includes tracing).")
flags.DEFINE_integer("repeats", 3, "Timed repeats; the best is reported.")
flags.DEFINE_list("parts", ["training"],
                  "Any of: training, inception, tflite.")
flags.DEFINE_integer("tflite_batch", 1, "Static batch of the TFLite sampler.")
flags.DEFINE_integer("workers", 0, "> 0: training it/s with that many local "
                     "multi-worker processes (tools/launch_local_workers.py).")
flags.DEFINE_integer("inception_images", 64, "Images per Inception repeat.")


def training_throughput(batch_size, iterations, warmup, repeats):
    """Best-of-`repeats` iterations/s of the configured training loop."""
    dataset = gin.query_parameter("train.dataset")
    jit = gin.query_parameter("train.jit_compile")
    strategy = distribute.make_strategy(gin.query_parameter("train.strategy"))
    with strategy.scope():
        model = factory.make_model(data.image_shape(dataset))
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


def inception_throughput(image_shape, num_images, repeats):
    """Best-of-`repeats` images/s of FID feature extraction."""
    features = inception.InceptionFeatures()
    images = np.random.default_rng(0).uniform(
        size=(num_images,) + image_shape).astype(np.float32)
    features(images[:features.batch_size])  # Trace and warm up.
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        features(images)
        rates.append(num_images / (time.perf_counter() - start))
    return max(rates), features.batch_size


def tflite_latency(batch, runs):
    """{variant: (bytes, ms per image)} of the TFLite samplers."""
    dataset = gin.query_parameter("train.dataset")
    model = factory.make_model(data.image_shape(dataset))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = tflite.write_tflite(model, os.path.join(tmp, "tflite"), tmp,
                                    batch)
        for variant, path in paths.items():
            results[variant] = (os.path.getsize(path),
                                tflite.benchmark_tflite(path, runs=runs))
    return results


def main(argv):
    del argv  # Unused.
    cli.parse_gin(FLAGS.gin_file, FLAGS.gin_param)
    dataset = gin.query_parameter("train.dataset")
    devices = [d.name for d in tf.config.list_logical_devices()]
    print(f"config: {' '.join(FLAGS.gin_file)} {' '.join(FLAGS.gin_param)}")
    print(f"devices: {devices}")
    if "training" in FLAGS.parts:
        batch_size = (FLAGS.batch_size
                      or gin.query_parameter("train.batch_size"))
        rate, group, replicas = training_throughput(
            batch_size, FLAGS.iterations, FLAGS.warmup, FLAGS.repeats)
        print(f"training: batch {batch_size}, {replicas} replicas, "
              f"{rate:.2f} iterations/s, {rate * batch_size * group:.0f} "
              f"images/s (best of {FLAGS.repeats} x {FLAGS.iterations} "
              "iterations)")
    if FLAGS.workers:
        best, median = launch_local_workers.iterations_per_second(
            FLAGS.workers, FLAGS.gin_file, FLAGS.gin_param)
        print(f"{FLAGS.workers} local workers: {best:.2f} it/s (best chunk; "
              f"median {median:.2f}); one host: overhead, not speed-up")
    if "inception" in FLAGS.parts:
        rate, batch = inception_throughput(
            data.image_shape(dataset), FLAGS.inception_images, FLAGS.repeats)
        print(f"inception features: {rate:.1f} images/s (batch {batch}; "
              f"a 10k-vs-10k FID needs 20k images: "
              f"{20000 / rate / 60:.0f} min)")
    if "tflite" in FLAGS.parts:
        for variant, (size, ms) in tflite_latency(
                FLAGS.tflite_batch, FLAGS.iterations).items():
            print(f"tflite sampler {variant}: {size / 2**20:.1f} MiB, "
                  f"{ms:.2f} ms/image (batch {FLAGS.tflite_batch})")


if __name__ == "__main__":
    app.run(main)
