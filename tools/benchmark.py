r"""Training speed of FlexAE on this machine, and where the time goes.

  python -m tools.benchmark --gin_file=gin/mnist.gin [--batch_size=128] \
      [--iterations=10] [--warmup=2] [--repeats=5] [--gin_param=...] \
      [--parts=training,phases,passes,pipeline]
  python -m tools.benchmark --gin_file=gin/mnist.gin --batch_size=128 \
      --ab="train.precision='float32'|train.precision='mixed_bfloat16'"

Run from the repository root. Every figure is the MEDIAN of `--repeats`
timed repeats (min and max beside it), after `--warmup` untimed iterations
that include tracing and XLA compilation (reported separately). The output
starts with the command line, the machine's load average (os.getloadavg)
and the devices; the load is printed again at the end.

Parts:
- training: iterations/s and images/s of the training iteration run in
  chunks of `--iterations` inside one tf.function, as the trainer runs it
  (train.jit_compile, train.precision and train.strategy from gin).
- phases: each phase of the iteration alone (reconstruction, encoding the
  critic batches, latent critic, image critic, smoothing, P-GEN, encoder
  adversarial), ms per call x calls per iteration, beside the iteration.
- passes: forward calls of each network and gradient computations per
  iteration, counted while tracing one iteration.
- pipeline: the input pipeline alone, in iterations/s it can feed (each
  iteration reads 1 + 2 * critic_steps batches).
- inception: images/s of FID feature extraction.
- tflite: size and CPU latency per image of the TFLite samplers.
- --workers=N: training it/s with N local MultiWorkerMirrored processes.

--ab="A|B[|C...]": each setting is gin bindings joined by ';' (and
`env:NAME=VALUE` entries for environment variables such as
TF_ENABLE_ONEDNN_OPTS or TF_NUM_INTRAOP_THREADS). Settings run in separate
processes, alternating A, B, A, B, ... for `--rounds` rounds so that drift
in the machine's load hits all of them alike; the report gives each
setting's median, spread and ratio to A over all its repeats. To time a
start whose XLA compilation is cached, give the cache directly:
env:TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=/tmp/xla_cache.
"""

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import flexae_tf  # pylint: disable=unused-import
from absl import app
from absl import flags
import gin

from flexae_tf.training import accelerate
from flexae_tf.core import cli
from flexae_tf.core import cpu
from flexae_tf.core import paths

FLAGS = flags.FLAGS


def define_flags():
    """CLI flags, defined only when run as a program: importing this module
    (tests) must not clash with the package's entry points' flags."""
    flags.DEFINE_multi_string("gin_file", ["gin/mnist.gin"], "Gin files.")
    flags.DEFINE_multi_string("gin_param", [], "Extra gin bindings.")
    flags.DEFINE_integer("batch_size", None, "Global batch; default: gin's.")
    flags.DEFINE_integer("iterations", 10, "Iterations per timed repeat.")
    flags.DEFINE_integer("warmup", 2, "Untimed iterations (tracing, XLA).")
    flags.DEFINE_integer("repeats", 5,
                         "Timed repeats; the median is reported.")
    flags.DEFINE_list("parts", ["training"], "Any of: training, phases, "
                      "passes, pipeline, inception, tflite.")
    flags.DEFINE_string("ab", None, "Settings to compare, 'A|B': gin bindings "
                        "joined by ';', or env:NAME=VALUE.")
    flags.DEFINE_integer("rounds", 3,
                         "A/B: processes per setting, alternated.")
    flags.DEFINE_string("json_out", None, "Also write the results as JSON.")
    flags.DEFINE_integer("tflite_batch", 1,
                         "Static batch of the TFLite sampler.")
    flags.DEFINE_integer("workers", 0, "> 0: training it/s with that many "
                         "local multi-worker processes "
                         "(tools/launch_local_workers.py).")
    flags.DEFINE_integer("inception_images", 64, "Images per Inception repeat.")


def _spread(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


def _fmt(stats, unit="", scale=1.0):
    median, low, high = (stats[k] * scale for k in ("median", "min", "max"))
    return (f"{median:.3g}{unit} (min {low:.3g}, max {high:.3g}, "
            f"n={stats['n']})")


def _load():
    return "load average %.2f %.2f %.2f on %d CPUs" % (
        os.getloadavg() + (os.cpu_count(),))


def _tool(name):
    """A module of tools/, as `python -m tools.benchmark` or as a script."""
    import importlib  # pylint: disable=g-import-not-at-top
    try:
        return importlib.import_module(f"tools.{name}")
    except ImportError:  # Run as tools/benchmark.py: tools/ is on sys.path.
        return importlib.import_module(name)


def _train_arg(name):
    """A `train` argument: gin's binding, else the function's default."""
    try:
        return gin.query_parameter(f"train.{name}")
    except ValueError:
        import inspect  # pylint: disable=g-import-not-at-top
        from flexae_tf.training import train_lib  # pylint: disable=g-import-not-at-top
        return inspect.signature(
            train_lib.train.__wrapped__).parameters[name].default


def measure(batch_size):
    """Runs the requested parts; returns and prints their results."""
    benchmark_phases = _tool("benchmark_phases")
    results = {"batch_size": batch_size}
    jit = accelerate.resolve_jit_compile(_train_arg("jit_compile"))
    model, strategy, iterator, run = benchmark_phases.build(
        _train_arg("dataset"), batch_size, _train_arg("strategy"),
        _train_arg("precision"), jit)
    group = model.group_size
    print(f"model: {type(model).__name__}, batch {batch_size}, "
          f"{strategy.num_replicas_in_sync} replicas, jit_compile={jit}, "
          f"precision={_train_arg('precision')}, {group} batches/iteration")
    if "training" in FLAGS.parts:
        warmup_s, rates = benchmark_phases.training(
            model, run, FLAGS.iterations, FLAGS.warmup, FLAGS.repeats)
        stats = _spread(rates)
        results.update(warmup_s=warmup_s, rates=rates, training=stats)
        print(f"training: {_fmt(stats, ' it/s')}; "
              f"{stats['median'] * batch_size * group:.0f} images/s; "
              f"{1 / stats['median']:.3g} s/iteration (median of "
              f"{FLAGS.repeats} x {FLAGS.iterations} iterations; warm-up "
              f"incl. tracing/compilation {warmup_s:.1f} s)")
    if "phases" in FLAGS.parts:
        element = next(iterator)
        local = strategy.experimental_local_results(element)[0]
        times = benchmark_phases.phase_times(model, strategy, jit, local,
                                             FLAGS.repeats)
        total = 0.0
        print("phase                  ms/call        calls/it  ms/it")
        for name, value in times.items():
            if value is None:
                print(f"{name:22} (no such method on this model)")
                continue
            median, low, high, calls = value
            total += median * calls
            print(f"{name:22} {1e3 * median:7.1f} "
                  f"[{1e3 * low:.0f}-{1e3 * high:.0f}] {calls:5d} "
                  f"{1e3 * median * calls:9.0f}")
        print(f"sum of phases: {1e3 * total:.0f} ms/iteration"
              + (f" vs {1e3 / results['training']['median']:.0f} measured"
                 if "training" in results else ""))
        results["phases"] = {k: list(v) if v else None
                             for k, v in times.items()}
    if "passes" in FLAGS.parts:
        per_replica = batch_size // strategy.num_replicas_in_sync
        shape = (group, per_replica) + tuple(model.image_shape)
        calls, gradients = benchmark_phases.count_passes(model, shape)
        print("forward calls per iteration: " + ", ".join(
            f"{k} {v}" for k, v in calls.items())
            + f"; tape.gradient calls: {gradients}")
        results["passes"] = {"forward": calls, "gradients": gradients}
    if "pipeline" in FLAGS.parts:
        stats = _spread([benchmark_phases.pipeline_rate(
            _train_arg("dataset"), batch_size, group, FLAGS.iterations * 5,
            1)[0] for _ in range(FLAGS.repeats)])
        results["pipeline"] = stats
        print(f"input pipeline alone: {_fmt(stats, ' iterations/s')} = "
              f"{stats['median'] * group:.0f} batches/s")
    return results


def other_parts(batch_size):
    """The parts that do not train: inception, tflite, workers."""
    # pylint: disable=g-import-not-at-top
    import numpy as np
    from flexae_tf.data import datasets as data
    from flexae_tf.metrics import inception
    from flexae_tf.models import factory
    from flexae_tf.serving import tflite
    shape = data.image_shape(_train_arg("dataset"))
    del batch_size
    if "inception" in FLAGS.parts:
        features = inception.InceptionFeatures()
        images = np.random.default_rng(0).uniform(
            size=(FLAGS.inception_images,) + shape).astype(np.float32)
        features(images[:features.batch_size])  # Trace and warm up.
        rates = []
        for _ in range(FLAGS.repeats):
            start = time.perf_counter()
            features(images)
            rates.append(len(images) / (time.perf_counter() - start))
        stats = _spread(rates)
        print(f"inception features: {_fmt(stats, ' images/s')} (batch "
              f"{features.batch_size}, {features.compute_dtype}"
              f"; a 10k-vs-10k FID: {20000 / stats['median'] / 60:.1f} min "
              f"for 20k images, {10000 / stats['median'] / 60:.1f} min once "
              "the real images' features are cached)")
    if "tflite" in FLAGS.parts:
        model = factory.make_model(shape)
        with tempfile.TemporaryDirectory() as tmp:
            files = tflite.write_tflite(model, os.path.join(tmp, "tflite"),
                                        tmp, FLAGS.tflite_batch)
            for variant, path in files.items():
                ms = tflite.benchmark_tflite(path, runs=FLAGS.iterations)
                print(f"tflite sampler {variant}: "
                      f"{os.path.getsize(path) / 2**20:.1f} MiB, "
                      f"{ms:.2f} ms/image (batch {FLAGS.tflite_batch})")
    if FLAGS.workers:
        best, median = _tool("launch_local_workers").iterations_per_second(
            FLAGS.workers, FLAGS.gin_file, FLAGS.gin_param)
        print(f"{FLAGS.workers} local workers: {median:.2f} it/s median "
              f"chunk (best {best:.2f}); one host: overhead, not speed-up")


def parse_setting(setting):
    """'a=1;env:X=2' -> (gin bindings, environment variables)."""
    bindings, env = [], {}
    for item in filter(None, (s.strip() for s in setting.split(";"))):
        if item.startswith("env:"):
            name, _, value = item[4:].partition("=")
            env[name] = value
        else:
            bindings.append(item)
    return bindings, env


def ab(batch_size):
    """Alternates the --ab settings in subprocesses; prints the comparison."""
    settings = [s.strip() for s in FLAGS.ab.split("|")]
    rates = {s: [] for s in settings}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(FLAGS.rounds):
            for i, setting in enumerate(settings):
                bindings, env = parse_setting(setting)
                out = os.path.join(tmp, f"{round_}_{i}.json")
                command = (
                    [sys.executable, "-m", "tools.benchmark",
                     "--parts=training", f"--batch_size={batch_size}",
                     f"--iterations={FLAGS.iterations}",
                     f"--warmup={FLAGS.warmup}", f"--repeats={FLAGS.repeats}",
                     f"--json_out={out}"]
                    + [f"--gin_file={f}" for f in FLAGS.gin_file]
                    + [f"--gin_param={p}" for p in FLAGS.gin_param + bindings])
                print(f"round {round_ + 1}, {setting}: {_load()}", flush=True)
                subprocess.run(command, check=True, cwd=paths.REPO_ROOT,
                               env=dict(os.environ, **env),
                               stdout=subprocess.DEVNULL)
                with open(out) as f:
                    rates[setting] += json.load(f)["rates"]
    base = statistics.median(rates[settings[0]])
    print(f"A/B over {FLAGS.rounds} alternating rounds x {FLAGS.repeats} "
          f"repeats x {FLAGS.iterations} iterations, batch {batch_size}:")
    for setting in settings:
        stats = _spread(rates[setting])
        print(f"  {setting}: {_fmt(stats, ' it/s')}, "
              f"{1 / stats['median']:.3g} s/it, "
              f"x{stats['median'] / base:.2f} vs A")
    return {s: _spread(r) for s, r in rates.items()}


def main(argv):
    del argv  # Unused.
    cli.parse_gin(FLAGS.gin_file, FLAGS.gin_param)
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    batch_size = FLAGS.batch_size or _train_arg("batch_size")
    program = "-m tools.benchmark" if __package__ else sys.argv[0]
    print(f"command: python {program} "
          + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    print(f"machine: {_load()}; TensorFlow {tf.__version__}; devices "
          f"{[d.name for d in tf.config.list_logical_devices()]}")
    print(f"cpu: {cpu.describe()}")
    if FLAGS.ab:
        results = ab(batch_size)
    else:
        results = {}
        if set(FLAGS.parts) & {"training", "phases", "passes", "pipeline"}:
            results = measure(batch_size)
        other_parts(batch_size)
    print(f"machine at the end: {_load()}")
    if FLAGS.json_out:
        with open(FLAGS.json_out, "w") as f:
            json.dump(results, f)


if __name__ == "__main__":
    define_flags()
    app.run(main)
