"""Evaluation checkpoints, the validation split and the two protocols."""

import os

import flexae_tf  # pylint: disable=unused-import
import gin
import numpy as np
import pytest
import tensorflow as tf

from flexae_tf.storage import eval_checkpoints
from flexae_tf.training import evaluation_checkpoints
from flexae_tf.data import datasets as data
from flexae_tf.core import paths
from flexae_tf.evaluation import selection
from flexae_tf.metrics import kid
from flexae_tf.evaluation import features as features_lib
from flexae_tf.evaluation import model_metrics
from flexae_tf.evaluation import samples
from flexae_tf.evaluation import results
from flexae_tf.models import flexae
from tests.helpers import SMALL_NETWORKS

HAS_MNIST = os.path.isdir(os.path.join(paths.default_data_dir(), "mnist"))


def small_model():
    gin.clear_config()
    gin.parse_config(SMALL_NETWORKS)
    tf.keras.utils.set_random_seed(0)
    model = flexae.FlexAE((28, 28, 1), latent_dim=4, critic_steps=1)
    model.compile()
    return model


def test_callback_keeps_the_window_through_model_fit(tmp_path):
    """10 iterations of fit, window 0.5, interval 2: ckpt 6, 8, 10 only,
    each restoring that iteration's inference weights."""
    model = small_model()
    groups = tf.random.stateless_uniform((10, 3, 4, 28, 28, 1), seed=[1, 2])
    callback = evaluation_checkpoints.EvaluationCheckpoints(str(tmp_path), 10,
                                               interval=2, window=0.5)
    weights = {}

    class Record(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights[int(model.iteration.numpy())] = (
                model.decoder.to_pixels.kernel.numpy().copy())

    model.fit(tf.data.Dataset.from_tensor_slices(groups), epochs=1,
              callbacks=[callback, Record()], verbose=0)
    found = eval_checkpoints.list_checkpoints(str(tmp_path))
    assert [it for it, _ in found] == [6, 8, 10]
    assert not [name for name in os.listdir(tmp_path / "eval_checkpoints")
                if ".tmp-" in name]  # Every temporary renamed.
    fresh = small_model()
    assert eval_checkpoints.restore(fresh, dict(found)[6]) == 6
    np.testing.assert_array_equal(fresh.decoder.to_pixels.kernel.numpy(),
                                  weights[6])


@pytest.mark.parametrize("window", [0.0, 1.5])
def test_bad_window_is_a_clear_error(tmp_path, window):
    with pytest.raises(ValueError, match="window"):
        evaluation_checkpoints.EvaluationCheckpoints(str(tmp_path), 10, window=window)


@pytest.mark.skipif(not HAS_MNIST, reason="no local MNIST")
def test_validation_is_held_out_of_train_and_disjoint_from_it():
    images = lambda split: np.concatenate(list(
        data.eval_batches("mnist", split, 10000).as_numpy_iterator()))
    train, validation = images("train"), images("validation")
    gin.clear_config()
    gin.parse_config("load_images.validation_size = 0")
    full = images("train")
    gin.clear_config()
    assert len(validation) == 5000 and len(train) == len(full) - 5000
    np.testing.assert_array_equal(np.concatenate([train, validation]), full)
    # No validation image appears among the training images.
    train_set = {x.tobytes() for x in train}
    assert sum(x.tobytes() in train_set for x in validation) < 5  # dupes
    with pytest.raises(data.DataError, match="validation_size=0"):
        gin.parse_config("load_images.validation_size = 0")
        data.load_images("mnist", "validation")
    gin.clear_config()


@pytest.mark.skipif(not HAS_MNIST, reason="no local MNIST")
def test_standard_protocol_selects_on_validation_reports_test(monkeypatch):
    model = small_model()
    snapshots = []
    for step in range(3):  # Three "checkpoints" with different decoders.
        model.decoder.to_pixels.bias.assign([0.5 * step - 0.5])
        model.iteration.assign(10 * (step + 1))
        snapshots.append((10 * (step + 1), tf.train.Checkpoint(
            **model.trackables(inference_only=True)).write(
                f"/tmp/selection_test_{os.getpid()}/ckpt-{10 * (step + 1)}")))
    splits, evaluated = [], []
    real = samples.real_images
    monkeypatch.setattr(samples, "real_images",
                        lambda ds, split, *a, **k: (
                            splits.append(split) or real(ds, split, *a, **k)))
    evaluate = model_metrics.evaluate

    def spy(m, *args, **kwargs):
        evaluated.append((int(m.iteration.numpy()), kwargs["split"]))
        return evaluate(m, *args, **kwargs)

    monkeypatch.setattr(model_metrics, "evaluate", spy)
    features = features_lib.RandomProjectionFeatures(dim=16)
    summary, entries = selection.run_protocol(
        model, "mnist", snapshots, "standard", ("fid",), 100,
        feature_fn=features, batch_size=50)
    scores = {e["iteration"]: e["value"] for e in entries
              if e["protocol"] == "standard/selection"
              and e["metric"] == "fid/generation"}
    best = min(scores, key=scores.get)
    assert splits[0] == "validation" and "test" not in splits[:1]
    assert evaluated == [(best, "test")] and summary["iteration"] == best
    assert summary["selected_by"]["fid"] == pytest.approx(scores[best])
    assert summary["selected_by"]["split"] == "validation"
    authors, _ = selection.run_protocol(
        model, "mnist", snapshots, "authors", ("fid",), 100,
        feature_fn=features, batch_size=50)
    assert authors["split"] == "test" and "optimistic" in authors["note"]
    assert authors["argmin_iteration"]["generation"] in scores


def test_minmax_rescale_per_image():
    images = np.stack([np.full((2, 2, 1), 0.2), np.array(
        [[[0.1], [0.3]], [[0.5], [0.2]]])]).astype(np.float32)
    out = samples.minmax_rescale(images)
    np.testing.assert_allclose(out[1].ravel(), [0.0, 0.5, 1.0, 0.25],
                               atol=1e-6)
    np.testing.assert_array_equal(out[0], 0.0)  # Constant image: no NaN.


def test_kid_is_tfgans_unbiased_estimator():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 0.3
    got = kid.kid_from_activations(a, b)["kid"]
    assert got == pytest.approx(kid.polynomial_kernel_mmd2(a, b), rel=1e-9)
    # Unbiased: two samples of one distribution average ~0, not > 0.
    same = [kid.kid_from_activations(rng.normal(size=(50, 8)),
                                     rng.normal(size=(50, 8)))["kid"]
            for _ in range(20)]
    assert abs(np.mean(same)) < 3 * np.std(same) / np.sqrt(20)


def test_results_merge_keeps_every_key(tmp_path):
    path = str(tmp_path / "results.json")
    base = dict(protocol="standard", iteration=5, split="test",
                features="inception", metric="fid/generation")
    results.merge(path, [dict(base, num_samples=100, value=1.0),
                         dict(base, num_samples=100, metric="prd/recall",
                              value=0.5)])
    results.merge(path, [dict(base, num_samples=200, value=2.0),
                         dict(base, num_samples=100, value=1.5),
                         dict(base, num_samples=100, value=9.0,
                              features="random_projection_64_seed0")])
    stored = results.load(path)
    assert len(stored) == 4
    values = sorted(e["value"] for e in stored.values())
    assert values == [0.5, 1.5, 2.0, 9.0]  # 1.0 replaced by its redo.
    with pytest.raises(ValueError, match="lacks"):
        results.merge(path, [{"metric": "fid", "value": 1.0}])
