"""Where a FlexAE iteration spends its time: phases, passes, input pipeline.

Used by tools/benchmark.py. Whole iterations run as the trainer runs them.
Each phase of `FlexAE.train_step` (the model's
`_reconstruction_step`, `_latent_critic_step`, ...) runs alone in its own
tf.function under the run's strategy and XLA setting, on fixed inputs, so
the sum over phases (times their calls per iteration) can be set beside
the whole iteration's time. Network passes are counted while one
`train_step` is traced: the trace runs every Python call of an iteration
once, loops included.
"""

import collections
import statistics
import time

import tensorflow as tf

from flexae_tf.data import datasets as data

NETWORKS = ("encoder", "decoder", "prior_generator", "latent_critic",
            "image_critic")


def build(dataset, batch_size, strategy_name, precision_name, jit_compile):
    """(model, strategy, per-replica iterator, run) as train() makes them.

    `run(n)` runs n iterations in one tf.function, as the trainer does.
    """
    # pylint: disable=g-import-not-at-top
    from flexae_tf.training import distribute
    from flexae_tf.core import precision
    from flexae_tf.models import factory
    strategy = distribute.make_strategy(strategy_name)
    with strategy.scope(), precision.policy(
            precision.resolve(precision_name)):
        model = factory.make_model(data.image_shape(dataset))
        model.compile(jit_compile=jit_compile)
    iterator = iter(strategy.distribute_datasets_from_function(
        lambda context: data.train_pipeline(
            dataset, batch_size, model.group_size, context)))
    step = (tf.function(model.train_step, jit_compile=True) if jit_compile
            else model.train_step)

    @tf.function
    def run(num_iterations):
        for _ in tf.range(num_iterations):
            strategy.run(step, args=(next(iterator),))

    return model, strategy, iterator, run


def _sync(model):
    # Reading a tracker waits for every queued op of the iteration.
    float(next(iter(model.trackers.values())).result())


def training(model, run, iterations, warmup, repeats):
    """Warm-up seconds and per-repeat iterations/s of whole iterations."""
    start = time.perf_counter()
    run(tf.constant(warmup))
    _sync(model)
    warmup_s = time.perf_counter() - start
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(tf.constant(iterations))
        _sync(model)
        rates.append(iterations / (time.perf_counter() - start))
    return warmup_s, rates


def _phases(model, images, images_2):
    """[(name, method name, args, calls per iteration)] of FlexAE-SR."""
    codes = model.encoder(images, training=True)
    codes_2 = model.encoder(images_2, training=True)
    steps = model.critic_steps
    noise = tf.random.normal((int(images.shape[0]), model.noise_dim))
    smoothing = bool(getattr(model, "smoothing", False))
    # Every critic step encodes x (and x' with smoothing); the smoothing
    # update encodes its own inside its phase.
    encoder_calls = 2 * steps if smoothing else steps
    phases = [
        ("reconstruction", "_reconstruction_step", (images,), 1),
        ("encode critic inputs", None, (images,), encoder_calls),
        ("latent critic", "_latent_critic_step", (codes, noise), steps),
    ]
    if smoothing:
        phases += [
            ("image critic", "_image_critic_step", (images, codes, codes_2),
             steps),
            ("smoothing", "_smoothing_step", (images, images_2), 1)]
    if getattr(model, "prior_generator", None) is not None:
        phases.append(("P-GEN", "_prior_generator_step", (noise,), 1))
    phases.append(("encoder adversarial", "_encoder_adversarial_step",
                   (images,), 1))
    return phases


def _timed(run, repeats, calls):
    """Median and spread of seconds per call over `repeats` x `calls`."""
    run()  # Trace (and compile) outside the timing.
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            result = run()
        tf.nest.map_structure(lambda t: t.numpy(), result)  # Device sync.
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times), min(times), max(times)


def phase_times(model, strategy, jit_compile, group, repeats, calls=3):
    """{phase: (median s, min s, max s, calls per iteration)}.

    `group` is one per-replica element of the training pipeline. Phases
    whose method the model lacks are reported as None.
    """
    images, images_2 = group[0], group[1]
    results = {}
    for name, method, args, per_iteration in _phases(model, images,
                                                     images_2):
        if method is None:
            fn = lambda x: model.encoder(x, training=True)
        else:
            fn = getattr(model, method, None)
        if fn is None:
            results[name] = None
            continue
        step = tf.function(fn, jit_compile=jit_compile)
        wrapped = tf.function(
            lambda step=step, args=args: strategy.run(step, args=args))
        results[name] = _timed(wrapped, repeats, calls) + (per_iteration,)
    return results


def count_passes(model, group_shape):
    """Forward calls of each network and gradient computations per iteration.

    Returns:
      ({network: calls}, number of tape.gradient calls).
    """
    counts = collections.Counter()
    originals = {}
    for name in NETWORKS:
        network = getattr(model, name, None)
        if network is None:
            continue
        originals[name] = network.call

        def counted(*args, name=name, original=network.call, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        network.call = counted
    gradient = tf.GradientTape.gradient

    def counted_gradient(self, *args, **kwargs):
        counts["tape.gradient"] += 1
        return gradient(self, *args, **kwargs)

    tf.GradientTape.gradient = counted_gradient
    try:
        tf.function(model.train_step).get_concrete_function(
            tf.TensorSpec(group_shape, tf.float32))
    finally:
        tf.GradientTape.gradient = gradient
        for name in originals:
            del getattr(model, name).call
    gradients = counts.pop("tape.gradient", 0)
    return dict(counts), gradients


def pipeline_rate(dataset, batch_size, group_size, groups, repeats):
    """Median groups/s (= iterations/s the pipeline can feed) alone."""
    iterator = iter(data.train_pipeline(dataset, batch_size, group_size))
    next(iterator)  # Fill the shuffle buffer outside the timing.
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(groups):
            next(iterator)
        rates.append(groups / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)
