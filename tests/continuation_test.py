"""Exact continuation: a resumed run IS the uninterrupted run.

Data order, weights, optimizer slots, random streams and TensorBoard steps
after any number of interruptions (clean stops or kill -9 at random
moments) equal those of one uninterrupted run, bit for bit.
"""

import os
import random
import subprocess
import sys
import time

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import tensorflow as tf

from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf.core import paths
from flexae_tf.training import train_lib
from tests import helpers

pytestmark = helpers.needs_mnist
# Small enough for a few restarts on 2 CPU cores; the interval makes
# every second iteration a boundary (log + checkpoint).
PARAMS = ["train.num_iterations = 12", "train.checkpoint_interval = 2",
          "train.log_interval = 2", "train.image_interval = 12",
          "train.keep_checkpoints = 20"]


def _state(path):
    return {name: tf.train.load_variable(path, name)
            for name, _ in tf.train.list_variables(path)
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}  # save_counter too.


def _assert_same_state(dir_a, dir_b, number):
    a = _state(os.path.join(dir_a, "checkpoints", f"ckpt-{number}"))
    b = _state(os.path.join(dir_b, "checkpoints", f"ckpt-{number}"))
    assert a.keys() == b.keys()
    differing = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differing, differing


def _loss_steps(model_dir):
    """{tag: [steps in file order]} over every event file of the run."""
    steps = {}
    event_dir = os.path.join(model_dir, "train")
    for name in sorted(os.listdir(event_dir)):
        for event in tf.compat.v1.train.summary_iterator(
                os.path.join(event_dir, name)):
            for value in event.summary.value:
                if value.tag.startswith("losses/"):
                    steps.setdefault(value.tag, []).append(event.step)
    return steps


def test_stopped_and_resumed_equals_uninterrupted(tmp_path):
    whole, pieces = str(tmp_path / "whole"), str(tmp_path / "pieces")
    gin.clear_config()
    cli.parse_gin([helpers.TINY], PARAMS)
    train_lib.train(whole, num_iterations=8)
    for stop in (2, 6, 8):  # Three processes' worth, in one.
        gin.clear_config()
        cli.parse_gin([helpers.TINY], PARAMS)
        train_lib.train(pieces, num_iterations=stop)
    _assert_same_state(whole, pieces, 8)


def _main(model_dir):
    return subprocess.Popen(
        [sys.executable, "-m", "flexae_tf.main", f"--gin_file={helpers.TINY}",
         f"--model_dir={model_dir}"]
        + [f"--gin_param={p.replace(' ', '')}" for p in PARAMS],
        cwd=paths.REPO_ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)


def _newest(model_dir):
    path = None
    try:
        path = checkpoints.latest(model_dir)
    except Exception:  # pylint: disable=broad-except
        pass  # Mid-write; the next poll sees it.
    return -1 if path is None else checkpoints._number(path)  # pylint: disable=protected-access


def test_kill_9_at_random_moments_ends_bit_identical(tmp_path):
    reference, killed = str(tmp_path / "reference"), str(tmp_path / "killed")
    process = _main(reference)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    rng = random.Random(12)
    kills = 0
    for _ in range(3):
        process = _main(killed)
        # Kill once training runs (a checkpoint beyond the start), after a
        # random extra delay: during a chunk, a save or a picture.
        start = _newest(killed)
        deadline = time.time() + 300
        while (_newest(killed) <= start and process.poll() is None
               and time.time() < deadline):
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        if process.poll() is None:
            process.kill()  # SIGKILL: no cleanup at all.
            kills += 1
        process.communicate(timeout=60)
    assert kills >= 2, "the run finished before it could be killed"
    process = _main(killed)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    _assert_same_state(reference, killed, 12)
    # TensorBoard shows each step once, as in the uninterrupted run.
    steps = _loss_steps(killed)
    assert steps == _loss_steps(reference)
    assert steps["losses/recon_loss"] == list(range(2, 13, 2))


def test_data_order_is_a_pure_function_of_seed_and_iteration():
    from flexae_tf.data import datasets as data  # pylint: disable=g-import-not-at-top
    # All 60000 training images (no validation split held out), so an
    # epoch of a shard is exactly 20 iterations.
    gin.clear_config()
    gin.bind_parameter("load_images.validation_size", 0)
    context = tf.distribute.InputContext(2, 1, 2)  # Worker 1 of 2.
    stream = iter(data.train_pipeline("mnist", 1000, 3, context, seed=5))
    first = [next(stream).numpy() for _ in range(25)]
    resumed = iter(data.train_pipeline("mnist", 1000, 3, context, seed=5,
                                       start_iteration=19))
    for expected in first[19:]:
        np.testing.assert_array_equal(next(resumed).numpy(), expected)
    # Worker 1's shard is 30000 images: iterations 0-19 (500 per replica
    # batch, 3 batches each = 1500 images per iteration) are exactly one
    # permutation of it, and the next epoch is another one.
    images, _ = data.load_images("mnist")
    shard = next(iter(images.batch(60000))).numpy()[1::2]
    as_bytes = lambda groups: np.round(
        np.concatenate([g.reshape(-1, 28 * 28) for g in groups]) * 255)
    epoch = as_bytes(first[:20])
    key = lambda a: np.lexsort(a.T[::-1])
    np.testing.assert_array_equal(epoch[key(epoch)],
                                  shard.reshape(-1, 28 * 28)[
                                      key(shard.reshape(-1, 28 * 28))])
    second = as_bytes(first[20:])
    assert not np.array_equal(second, epoch[:len(second)])
    other_seed = next(iter(data.train_pipeline("mnist", 1000, 3, context,
                                               seed=6))).numpy()
    assert not np.array_equal(other_seed, first[0])
    gin.clear_config()
