"""The real images' features: computed once, reused, keyed by provenance."""

import numpy as np
import pytest

from flexae_tf.evaluation import features
from flexae_tf.evaluation import samples
from tests import helpers

pytestmark = helpers.needs_mnist


class CountingProjection(features.RandomProjectionFeatures):
    """The pixel projection, counting the images it is asked to embed."""

    def __init__(self, seed=0):
        super().__init__(dim=16, seed=seed)
        self.images_seen = 0

    def __call__(self, images):
        self.images_seen += len(images)
        return super().__call__(images)


def test_real_features_are_computed_once_and_reused(tmp_path):
    feature_fn = CountingProjection()
    kwargs = dict(batch_size=25, cache_dir=str(tmp_path))
    images, first = features.real_features("mnist", "test", 50, feature_fn,
                                           **kwargs)
    assert feature_fn.images_seen == 50 and first.shape == (50, 16)
    np.testing.assert_array_equal(images, samples.real_images(
        "mnist", "test", 50))
    np.testing.assert_allclose(first, feature_fn(images), rtol=1e-6)
    feature_fn.images_seen = 0
    _, again = features.real_features("mnist", "test", 50, feature_fn,
                                      **kwargs)
    assert feature_fn.images_seen == 0  # Loaded, not recomputed.
    np.testing.assert_array_equal(first, again)
    # Another N, another subset, another network: each its own entry.
    features.real_features("mnist", "test", 40, feature_fn, **kwargs)
    _, skipped = features.real_features("mnist", "test", 50, feature_fn,
                                        skip=50, **kwargs)
    assert not np.array_equal(skipped, first)
    _, other = features.real_features("mnist", "test", 50,
                                      CountingProjection(seed=1), **kwargs)
    assert not np.array_equal(other, first)
    assert len(list(tmp_path.iterdir())) == 4


@pytest.mark.parametrize("damage", [b"truncated", None])
def test_a_damaged_or_foreign_cache_entry_is_recomputed(tmp_path, damage):
    feature_fn = CountingProjection()
    kwargs = dict(batch_size=25, cache_dir=str(tmp_path))
    _, good = features.real_features("mnist", "test", 30, feature_fn,
                                     **kwargs)
    (path,) = tmp_path.iterdir()
    if damage:
        path.write_bytes(damage)
    else:  # Another protocol's features under this name.
        np.savez(path, features=good[:, :8], provenance='{"protocol": "x"}')
    feature_fn.images_seen = 0
    _, again = features.real_features("mnist", "test", 30, feature_fn,
                                      **kwargs)
    assert feature_fn.images_seen == 30
    np.testing.assert_array_equal(good, again)
