"""Multi-worker training with real worker processes on 127.0.0.1 (CPU).

Each test starts TensorFlow processes that trace the tiny model, so the
file takes a few minutes on a 2-core machine; every wait has a timeout and
every process is stopped on the way out.

The single-process reference is `train()` itself under MirroredStrategy on
two logical CPUs, run by this file as a script (`_reference_main`): the
same two replicas (so each replica's random stream, keyed by its replica
id, and its batch-norm batch statistics are those of the matching worker)
and the same global batch. Its one change is the input: it interleaves the
two workers' shards, because a single-process strategy hands the elements
of one pipeline to its replicas in turn while multi-worker training shards
per worker.
"""

import os
import re
import subprocess
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:  # Run as a script (the reference), or Bazel.
    sys.path.insert(0, REPO_ROOT)

# pylint: disable=g-import-not-at-top,wrong-import-position
import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import tensorflow as tf

from flexae_tf.storage import checkpoints
from flexae_tf.core import cli
from flexae_tf.data import datasets as data
from flexae_tf.training import train_lib
from tools import launch_local_workers as launcher
from tests import helpers
# pylint: enable=g-import-not-at-top,wrong-import-position

pytestmark = helpers.needs_mnist

NUM_WORKERS = 2
CLUSTER_TIMEOUT = 240  # Seconds; a healthy 2-worker tiny run takes ~40.
# Two replicas per process in the reference, to mirror the 2 workers.
REFERENCE_DEVICES = "make_strategy.devices=['/cpu:0', '/cpu:1']"
# Identical inputs in identical order: only the order of the two-operand
# gradient sums may differ, and a + b == b + a exactly, so the two runs
# agree to float32 rounding; the bounds leave room for a different
# grappler fusion or Eigen blocking, far below any real bug (a wrong data
# shard or random stream changes the losses by percents).
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5


def _main_args(model_dir, gin_params):
    return (["--gin_file=gin/tiny.gin", f"--model_dir={model_dir}"]
            + [f"--gin_param={p}" for p in gin_params])


def _cluster(tmp_path, model_dir, gin_params, max_restarts=0):
    return launcher.LocalCluster(
        launcher.main_command(_main_args(model_dir, gin_params)),
        NUM_WORKERS, str(tmp_path / "logs"), max_restarts=max_restarts)


def _checkpoint(directory, number):
    path = os.path.join(directory, "checkpoints", f"ckpt-{number}")
    assert tf.io.gfile.exists(path + ".index"), f"{path} missing"
    return path


def _variables(path):
    return {name: tf.train.load_variable(path, name)
            for name, _ in tf.train.list_variables(path)
            if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def _losses(model_dir):
    """{tag: [(step, value)]} of the loss summaries of a run."""
    event_dir = os.path.join(model_dir, "train")
    tags = set()
    for name in tf.io.gfile.listdir(event_dir):
        for event in tf.compat.v1.train.summary_iterator(
                os.path.join(event_dir, name)):
            tags.update(v.tag for v in event.summary.value
                        if v.tag.startswith("losses/"))
    return {tag: launcher.read_scalars(event_dir, tag) for tag in tags}


def _log_text(tmp_path, worker):
    with open(tmp_path / "logs" / f"worker_{worker}.log") as f:
        return f.read()


def _worker_dir(model_dir, worker):
    return os.path.join(model_dir, "workers", f"worker_{worker}")


def _chief_checkpoint_number(model_dir):
    path = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
    return None if path is None else int(path.rsplit("-", 1)[1])


def test_killed_worker_resumes_and_matches_single_process(tmp_path):
    """One cluster run, with a worker killed mid-run, against one process.

    A single test (two clusters cost minutes on 2 cores): the killed and
    restarted cluster must end exactly where the uninterrupted one-process
    run with the same global batch ends, so it checks the data sharding,
    the per-replica random streams and the restart at once.
    """
    model_dir = str(tmp_path / "cluster")
    reference_dir = str(tmp_path / "reference")
    # The kill comes within 0.1 s of the first checkpoint (iteration 4);
    # the 12 iterations after it take seconds, so it always lands mid-run.
    num_iterations, interval, critic_steps = 16, 4, 2
    params = [f"train.num_iterations={num_iterations}",
              f"train.checkpoint_interval={interval}",
              f"train.log_interval={interval}",
              f"train.image_interval={num_iterations}",
              "train.keep_checkpoints=100", "FlexAE.seed=0",
              f"FlexAE.critic_steps={critic_steps}"]
    with _cluster(tmp_path, model_dir, params, max_restarts=2) as cluster:
        deadline = time.time() + CLUSTER_TIMEOUT
        while _chief_checkpoint_number(model_dir) is None:
            assert not cluster.poll(), "finished without a checkpoint"
            assert time.time() < deadline, "no checkpoint in time"
            time.sleep(0.1)
        cluster.kill(1)  # Like a machine failure: no cleanup at all.
        killed_at = _chief_checkpoint_number(model_dir)
        assert killed_at < num_iterations, "finished before the kill"
        cluster.wait(CLUSTER_TIMEOUT)
    # Worker 1 was restarted after the kill, the chief after its
    # collectives failed for lack of worker 1 (once each, unless a restart
    # raced with the dying cluster).
    assert min(cluster.starts) >= 2, cluster.starts

    resumed = []
    for worker in range(NUM_WORKERS):
        last_run = _log_text(tmp_path, worker).split("=== start ")[-1]
        match = re.search(r"Resumed from (\S+)/ckpt-(\d+) at iteration (\d+)",
                          last_run)
        assert match, f"worker {worker} did not resume:\n{last_run[-3000:]}"
        # Non-chief workers read the chief's checkpoints, not their own.
        assert match.group(1) == os.path.join(model_dir, "checkpoints")
        assert match.group(2) == match.group(3)
        resumed.append(int(match.group(2)))
    assert resumed[0] == resumed[1] >= killed_at

    # Nothing lost or repeated: the counters of every update, and the
    # training random stream, say exactly num_iterations iterations ran.
    final = _variables(_checkpoint(model_dir, num_iterations))
    counts = {"iteration": num_iterations}
    for role, per_iteration in (("reconstruction", 1), ("smoothing", 1),
                                ("encoder_adversarial", 1),
                                ("prior_generator", 1),
                                ("latent_critic", critic_steps),
                                ("image_critic", critic_steps)):
        counts[f"{role}_optimizer/_iterations"] = (per_iteration
                                                   * num_iterations)
    for name, count in counts.items():
        assert final[f"{name}/.ATTRIBUTES/VARIABLE_VALUE"] == count, name
    # The rng state advances by the same amount every iteration: its
    # distance from the seed's is linear in the iterations run.
    rng = "rng/_state_var/.ATTRIBUTES/VARIABLE_VALUE"
    seeded = tf.random.Generator.from_seed(0).state.numpy().astype(object)
    at_resume = _variables(_checkpoint(model_dir, resumed[0]))[rng]
    np.testing.assert_array_equal(
        (final[rng].astype(object) - seeded) * resumed[0],
        (at_resume.astype(object) - seeded) * num_iterations)
    assert np.any(final[rng] != at_resume)
    # The restarted workers hold identical weights, optimizer slots, rng
    # and BN statistics.
    other = _variables(_checkpoint(_worker_dir(model_dir, 1),
                                   num_iterations))
    assert final.keys() == other.keys()
    differing = [k for k in final if not np.array_equal(final[k], other[k])]
    assert not differing, f"workers differ in {differing}"

    # The same weights and losses as one uninterrupted process with the
    # same global batch. After the cluster, not beside it: three
    # TensorFlow processes on two cores run slower than two and then one.
    reference = subprocess.run(
        [sys.executable, __file__, reference_dir]
        + [f"--gin_param={p}" for p in params + [
            "train.strategy='mirrored'", REFERENCE_DEVICES]],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=CLUSTER_TIMEOUT, check=False)
    assert reference.returncode == 0, reference.stdout[-5000:]
    reference_vars = _variables(_checkpoint(reference_dir, num_iterations))
    assert final.keys() == reference_vars.keys()
    for name, value in final.items():
        np.testing.assert_allclose(value, reference_vars[name],
                                   atol=WEIGHT_ATOL, err_msg=name)
    # Losses logged after the restart (the killed run's own events from
    # before it may be duplicated in earlier files).
    cluster_losses, reference_losses = _losses(model_dir), _losses(
        reference_dir)
    assert cluster_losses.keys() == reference_losses.keys()
    assert "losses/recon_loss" in cluster_losses
    for tag, values in cluster_losses.items():
        last = dict(values)[num_iterations]
        np.testing.assert_allclose(last, dict(reference_losses[tag])[
            num_iterations], rtol=LOSS_RTOL, atol=1e-6, err_msg=tag)

    # The chief's checkpoint restores into a fresh model (outside any
    # cluster), with the config it saved.
    try:
        model, iteration, dataset = checkpoints.load_trained(model_dir)
    finally:
        gin.clear_config()
    assert (iteration, dataset) == (num_iterations, "mnist")
    np.testing.assert_array_equal(
        model.encoder.code.kernel.numpy(),
        final["encoder/code/_kernel/.ATTRIBUTES/VARIABLE_VALUE"])
    assert np.all(np.isfinite(model.sample(4, seed=0).numpy()))


def _reference_main(argv):
    """`python multi_worker_test.py MODEL_DIR [--gin_param=...]...`.

    Trains tiny.gin in one process with the data the two workers read.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * NUM_WORKERS)
    shard = data.train_pipeline

    def interleaved_shards(name, batch_size, group_size=1,
                           input_context=None, seed=0, start_iteration=0):
        assert input_context.num_input_pipelines == 1
        shards = tuple(
            shard(name, batch_size, group_size,
                  tf.distribute.InputContext(NUM_WORKERS, w, NUM_WORKERS),
                  seed=seed, start_iteration=start_iteration)
            for w in range(NUM_WORKERS))

        def one_per_replica(*elements):
            dataset = tf.data.Dataset.from_tensors(elements[0])
            for element in elements[1:]:
                dataset = dataset.concatenate(
                    tf.data.Dataset.from_tensors(element))
            return dataset

        return tf.data.Dataset.zip(shards).flat_map(one_per_replica)

    data.train_pipeline = interleaved_shards
    params = [a.split("=", 1)[1] for a in argv[2:]]
    cli.parse_gin([os.path.join(REPO_ROOT, "gin/tiny.gin")], params)
    train_lib.train(argv[1])


if __name__ == "__main__":
    _reference_main(sys.argv)
