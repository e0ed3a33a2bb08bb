"""The training loop: strategy, data and model, then `Model.fit`.

One fit epoch spans the gcd of the log, picture, checkpoint and evaluation
intervals and runs as ONE `steps_per_execution` call (a `tf.range` loop of
`strategy.run(model.train_step)` inside one `tf.function`), so the host
only syncs at epoch ends, which are exactly the boundaries; the outputs
there are Keras callbacks (flexae_tf/training/callbacks.py), and users add their
own from gin.
"""

import dataclasses
import math
import os

from absl import logging
import gin
import keras
import tensorflow as tf

from flexae_tf.training import arguments
from flexae_tf.training import evaluation_checkpoints
from flexae_tf.training import accelerate
from flexae_tf.training import callbacks as callbacks_lib
from flexae_tf.storage import checkpoints
from flexae_tf.storage import guard
from flexae_tf.core import configurables  # noqa: F401  (registers callbacks)
from flexae_tf.data import datasets as data
from flexae_tf.training import distribute
from flexae_tf.core import errors
from flexae_tf.core import files
from flexae_tf.core import precision as precision_lib
from flexae_tf.training import resume
from flexae_tf.training import run_lock
from flexae_tf.training import signals
from flexae_tf.models import factory

TrainingDiverged = callbacks_lib.TrainingDiverged
Interrupted = signals.Interrupted
INTERRUPTED_STATUS = signals.INTERRUPTED_STATUS

def make_train_function(model, strategy, jit_compile=False):
    """tf.function running `num_iterations` iterations on `iterator`.

    The body of every fit epoch (see `fit`); the host syncs only at its end.
    """
    step = (tf.function(model.train_step, jit_compile=True) if jit_compile
            else model.train_step)

    @tf.function
    def run(iterator, num_iterations):
        for _ in tf.range(num_iterations):
            strategy.run(step, args=(next(iterator),))

    return run


@dataclasses.dataclass
class Run:
    """What the callbacks share: where the run is and where it writes."""

    iteration: int
    num_iterations: int
    epoch_length: int  # Iterations per fit epoch: between boundaries.
    name: str = "training"  # For messages.
    manager: object = None  # tf.train.CheckpointManager, or None.
    logs: dict = dataclasses.field(default_factory=dict)
    out_dir: str = None
    dataset: str = None
    seed: int = 0
    writer: object = None  # tf.summary writer of <out_dir>/train.
    log_interval: int = 0
    image_interval: int = 0
    checkpoint_interval: int = 0
    eval_interval: int = 0
    stop_signal: str = None  # Set by signals.stop_on_signals.

    def iteration_of(self, epoch):
        return (epoch + 1) * self.epoch_length

    def due(self, interval):
        return bool(interval) and (self.iteration % interval == 0
                                   or self.iteration == self.num_iterations)


def _restore(model, manager, model_dir, warm_start_from):
    """Resumes from model_dir (or warm-starts); returns the iteration."""
    configured = resume.optimizer_settings(model)
    # Through the manager's checkpoint, so save_counter resumes too.
    path = checkpoints.restore(model.trackables(), model_dir,
                               checkpoint=manager.checkpoint)
    if path is None:
        if warm_start_from:
            resume.warm_start(model, warm_start_from)
        return 0
    resume.apply_settings(model, configured)
    iteration = int(model.iteration.numpy())
    logging.info("Resumed from %s at iteration %d.", path, iteration)
    return iteration


@gin.configurable(denylist=["model_dir"])
def train(model_dir, dataset="mnist", num_iterations=10000, batch_size=64,
          log_interval=100, image_interval=1000, checkpoint_interval=1000,
          keep_checkpoints=3, jit_compile=False, strategy="mirrored",
          seed=0, eval_interval=0, eval_metrics=("fid",),
          eval_num_samples=10000, eval_features="inception", callbacks=(),
          warm_start_from=None,
          precision="float32"):
    """Trains the configured model in model_dir, resuming from its checkpoint.

    Args:
      model_dir: checkpoints, TensorBoard events, pictures and gin config.
      dataset: data.IMAGE_SHAPES key.
      num_iterations: total iterations (each: 1 reconstruction update,
        critic_steps critic updates, then the generator-side updates).
      batch_size: global batch size.
      log_interval: iterations between loss logs and scalar summaries.
      image_interval: iterations between picture summaries.
      checkpoint_interval: iterations between checkpoints (and
        `model.keras`).
      keep_checkpoints: checkpoints kept on disk.
      jit_compile: compile the iteration with XLA: True, False or 'auto'
        (on when a GPU is visible; accelerate.py). With XLA on, compiled
        code is cached in <model_dir>/xla_cache for resumes.
      strategy: distribute.make_strategy name.
      seed: seed of initial weights, data order and preview noise (the
        training noise has its own, FlexAE.seed).
      eval_interval: iterations between evaluations (0: never; use
        `python -m flexae_tf.evaluate` after training instead).
      eval_metrics: metrics of the periodic evaluation (model_metrics.METRICS).
      eval_num_samples: N of the periodic model_metrics.
      eval_features: feature space of the periodic evaluation: 'inception'
        (FID proper) or 'random_projection' (cheap enough for learning
        curves on a CPU; not comparable with published FIDs).
      callbacks: extra Keras callbacks, run after the built-in ones at
        every boundary (one fit epoch; `logs` holds the loss means and
        `iteration`), e.g. `[@EarlyStopping()]` with
        `EarlyStopping.monitor = 'recon_loss'`.
      warm_start_from: a model_dir whose latest networks initialise a NEW
        run (ignored once model_dir has a checkpoint). Resuming another
        model's checkpoint without it is an error.
      precision: 'float32', 'mixed_bfloat16', 'mixed_float16' (Keras
        dtype policy of the networks; precision.py) or 'auto'
        (mixed_bfloat16 where the hardware has native bfloat16, else
        float32).

    Returns:
      The trained model.

    Raises:
      TrainingDiverged: a loss or weight became NaN/inf; the last good
        checkpoint stays in model_dir.
      Interrupted: SIGTERM or SIGINT; the checkpoint of the boundary it
        stopped at is written (signals.py).
      errors.UserError: bad configuration, a model_dir in use or
        unusable, or checkpoints of another model.
    """
    arguments.check_arguments(num_iterations, eval_interval, eval_metrics,
                              eval_features, batch_size=batch_size,
                              log_interval=log_interval,
                              image_interval=image_interval,
                              checkpoint_interval=checkpoint_interval,
                              keep_checkpoints=keep_checkpoints)
    arguments.check_values(seed, callbacks, warm_start_from, eval_num_samples)
    # First: TensorFlow reads TF_XLA_FLAGS when it first lists devices.
    xla_cache = accelerate.enable_compilation_cache(model_dir, jit_compile)
    jit_compile = accelerate.resolve_jit_compile(jit_compile, xla_cache)
    chosen, precision = precision, precision_lib.resolve(precision)
    logging.info("Precision %s (train.precision=%r), XLA %s.", precision,
                 chosen, "on" if jit_compile else "off")
    image_shape = data.image_shape(dataset)
    guard.check_layout(model_dir)
    keras.utils.set_random_seed(seed)  # Initial weights.
    strategy = distribute.make_strategy(strategy)
    chief = distribute.is_chief(strategy)
    out_dir = distribute.output_dir(model_dir, strategy)
    run_lock.prepare_dir(model_dir)
    run_lock.prepare_dir(out_dir)
    # Workers only read the chief's model_dir; the chief alone owns it.
    lock = run_lock.RunLock(model_dir) if chief else None
    try:
        if chief:
            checkpoints.clean(model_dir)
            for path in files.remove_stale_temporaries(model_dir, True):
                logging.info("Removed %s, left by a killed run.", path)
        return _train(model_dir, out_dir, chief, strategy, image_shape,
                      locals())
    finally:
        if lock is not None:
            lock.release()


def _train(model_dir, out_dir, chief, strategy, image_shape, config):
    num_iterations, batch_size = config["num_iterations"], config["batch_size"]
    with strategy.scope(), precision_lib.policy(config["precision"]):
        model = factory.make_model(image_shape)
        model.compile(jit_compile=config["jit_compile"])
    # The networks are built in __init__; without `built`, fit would
    # trace the model symbolically on a batch it draws from the data.
    # Non-chief checkpoints are never read back: keep one, not N.
    manager = checkpoints.manager(
        model, out_dir, config["keep_checkpoints"] if chief else 1)
    # Every worker resumes from the chief's checkpoints (BackupAndRestore).
    start = _restore(model, manager, model_dir, config["warm_start_from"])
    distribute.check_same_iteration(strategy, start)
    if start >= num_iterations:
        logging.info("Already trained for %d iterations.", start)
        return model
    if batch_size % strategy.num_replicas_in_sync:
        raise errors.UserError(
            f"train.batch_size={batch_size} is not divisible by the "
            f"{strategy.num_replicas_in_sync} replicas.")
    intervals = [config[k] for k in ("log_interval", "image_interval",
                                     "checkpoint_interval", "eval_interval")]
    # The `standard` protocol's candidates (evaluation/selection.py), on
    # the chief.
    eval_checkpoints = evaluation_checkpoints.EvaluationCheckpoints(
        model_dir, num_iterations)
    # Epoch ends must fall on every boundary, on the resume point and on
    # the last iteration.
    epoch_length = math.gcd(*intervals, eval_checkpoints.interval,
                            num_iterations, start)
    seed, dataset = config["seed"], config["dataset"]
    inputs = strategy.distribute_datasets_from_function(
        lambda context: data.train_pipeline(
            dataset, batch_size, model.group_size, context, seed=seed,
            start_iteration=start))
    resume.purge_events(os.path.join(out_dir, "train"), start)
    run = Run(iteration=start, num_iterations=num_iterations,
               epoch_length=epoch_length, manager=manager, out_dir=out_dir,
               dataset=dataset, seed=seed,
               writer=tf.summary.create_file_writer(
                   os.path.join(out_dir, "train")),
               log_interval=intervals[0], image_interval=intervals[1],
               checkpoint_interval=intervals[2], eval_interval=intervals[3])
    built_in = [
        callbacks_lib.Boundary(run, distribute.replica_averager(
            strategy, model.non_trainable_variables)),
        callbacks_lib.Progress(run, batch_size * model.group_size,
                               gin.operative_config_str),
        callbacks_lib.Previews(run),
        callbacks_lib.Checkpoints(run, chief),
        callbacks_lib.Evaluation(run, config["eval_metrics"],
                                 config["eval_num_samples"],
                                 config["eval_features"]),
    ] + ([eval_checkpoints] if chief else [])
    logging.info("Training %s from iteration %d to %d in %s (%d replicas, "
                 "%d iterations per host sync).", dataset, start,
                 num_iterations, model_dir, strategy.num_replicas_in_sync,
                 epoch_length)
    with signals.stop_on_signals(run):
        fit(model, inputs, run, built_in + list(config["callbacks"]))
    run.writer.close()
    if run.stop_signal is not None:
        raise signals.interrupted(run)
    return model


def fit(model, inputs, run, callbacks):
    """`model.fit` from run.iteration to run.num_iterations.

    One epoch is run.epoch_length iterations in one `steps_per_execution`
    call; both ends must be multiples of it. `callbacks` should start with
    a `callbacks.Boundary`, which keeps run.iteration and run.logs.
    """
    length = run.epoch_length
    if run.iteration % length or run.num_iterations % length:
        raise ValueError(f"Iterations {run.iteration}..{run.num_iterations} "
                         f"are not whole epochs of {length}.")
    model.built = True  # See _train.
    model.steps_per_execution = length
    # fit's own multi-step function (a while_loop over optional inputs)
    # fails under MultiWorkerMirroredStrategy ("You must feed a value for
    # placeholder tensor 'while/cond/Placeholder'"); the inputs never end,
    # so a plain in-graph loop of `length` steps does the same job. fit
    # uses a preset `train_function` as is.
    run_steps = make_train_function(model, model.distribute_strategy,
                                    model.jit_compile)
    if model.jit_compile:
        accelerate.align_trace_names()  # Same XLA cache key on resume.
    steps = tf.constant(length)
    model.train_function = lambda iterator: run_steps(iterator, steps) or {}
    model.fit(inputs, epochs=run.num_iterations // length,
              initial_epoch=run.iteration // length, steps_per_epoch=length,
              callbacks=callbacks, shuffle=False, verbose=0)
