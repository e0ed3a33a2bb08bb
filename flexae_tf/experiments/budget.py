"""The one budget of every suite: what it spends per model, how it measures.

A `Budget` is fixed before a suite's first model, so every model of the
suite gets the same. The synthetic suites use its sizes, `curve_interval`
(their `eval_interval`) and `seed`; the image suites add the gin sheets
their models train with and the feature space they are measured in.
"""

import dataclasses
import functools
from typing import Callable, Optional, Sequence

from flexae_tf.evaluation import features as features_lib
from flexae_tf.core import errors
from flexae_tf.evaluation import model_metrics
from flexae_tf.experiments import sheets
from flexae_tf.metrics import inception

FEATURES = ("inception", "projection")
DISTANCES = ("fid", "kid")
# A suite's arguments that the runner (or a test) passes, never gin.
RUNNER_ARGS = ["out_dir", "gin_files", "gin_bindings"]
IMAGE_RUNNER_ARGS = RUNNER_ARGS + ["evaluate_fn"]


def check_known(kind, names, known):
    """Raises UserError naming the first of `names` not in `known`."""
    for name in names:
        if name not in known:
            raise errors.UserError(f"Unknown {kind} {name!r}; choose "
                                   f"from {list(known)}.")


def check_names(datasets=(), models=(), features="inception"):
    """Checks an image suite's datasets, models and features by name."""
    check_known("dataset", datasets, sheets.DATASET_SHEETS)
    check_known("model", models, sheets.MODEL_SHEETS)
    check_known("features", [features], FEATURES)


@dataclasses.dataclass(frozen=True)
class Budget:
    """A suite's budget and evaluation settings.

    Attributes:
      num_iterations: per model.
      num_samples: N of every metric.
      batch_size: per iteration.
      curve_interval: iterations between learning-curve points (0: none).
      seed: the synthetic suites' data, weights and noise (the image
        suites seed through `train.seed`, see runner.seed_bindings).
      features: "inception" (FID) or "projection" (a cheap stand-in).
      projection_dim: size of the projection features.
      distance: the tables' distance, "fid" or "kid".
      network_sheet: narrow CPU networks, or None for the dataset sheets'
        (authors') widths.
      gin_files, gin_bindings: the user's, applied to every model after
        its sheets.
      evaluate_fn: model_metrics.evaluate's contract (tests), or None.
    """

    num_iterations: int
    num_samples: int
    batch_size: int
    curve_interval: int = 0
    seed: int = 0
    features: str = "projection"
    projection_dim: int = 64
    distance: str = "fid"
    network_sheet: Optional[str] = None
    gin_files: Sequence[str] = ()
    gin_bindings: Sequence[str] = ()
    evaluate_fn: Optional[Callable] = None

    @classmethod
    def of(cls, arguments, **more):
        """The budget in a suite's arguments (its `locals()` on entry).

        Every suite names its budget arguments as the fields here, so a
        suite's gin parameter (e.g. `baselines.num_samples`) reaches its
        field by name; `more` adds fields a suite names otherwise.
        """
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in arguments.items() if k in names},
                   **more)

    def __post_init__(self):
        errors.check_positive("", num_iterations=self.num_iterations,
                              num_samples=self.num_samples,
                              batch_size=self.batch_size)
        check_names(features=self.features)
        if self.distance not in DISTANCES:
            raise errors.UserError(f"distance={self.distance!r}: use 'fid' "
                                   "or 'kid' (KID alone: any N).")

    @functools.cached_property
    def feature_fn(self):
        """The feature network of every metric (None: Inception)."""
        if self.features == "inception":
            return None
        return features_lib.RandomProjectionFeatures(self.projection_dim)

    @property
    def feature_dim(self):
        """Size of the features every metric compares."""
        return (inception.FEATURE_DIM if self.features == "inception"
                else self.projection_dim)

    def check_fid_samples(self, suite):
        """FID needs N > the feature size (a non-singular covariance);
        a suite calls this before its first model, not after its run."""
        if self.num_samples <= self.feature_dim:
            raise errors.UserError(
                f"{suite}.num_samples={self.num_samples}: FID on "
                f"{self.feature_dim}-d features needs at least "
                f"{self.feature_dim + 1} samples.")

    @property
    def evaluate(self):
        return self.evaluate_fn or model_metrics.evaluate

    @property
    def kid_label(self):
        return ("KID" if self.features == "inception" else
                f"KID[proj-{self.projection_dim}]")

    @property
    def label(self):
        """The tables' distance: "kid" where N <= 2048 rules out Inception
        FID (a CPU can afford Inception for a few hundred images)."""
        if self.distance == "kid":
            return self.kid_label
        return ("FID" if self.features == "inception" else
                f"FD[proj-{self.projection_dim}]")

    @property
    def protocol(self):
        return ("Inception pool_3 (FID)" if self.features == "inception"
                else self.feature_fn.protocol)

    @property
    def curve_features(self):
        """train.eval_features whose periodic FIDs are in this budget's
        space (the trainer's projection is the default one), or None:
        then no learning curve."""
        if self.features == "inception":
            return "inception"
        default = features_lib.RandomProjectionFeatures()
        return ("random_projection"
                if self.protocol == default.protocol else None)

    def curve_bindings(self):
        """Gin bindings of the periodic evaluation that draws the curve.

        Projection features only, since Inception curves would cost more
        than the training on a CPU.
        """
        if (not self.curve_interval or self.distance != "fid"
                or self.curve_features != "random_projection"):
            return []
        return [f"train.eval_interval = {self.curve_interval}",
                "train.eval_metrics = ('fid',)",
                f"train.eval_num_samples = {self.num_samples}",
                f"train.eval_features = '{self.curve_features}'"]

    def describe_training(self):
        networks = (f"narrow networks ({self.network_sheet})"
                    if self.network_sheet else "the authors' network widths")
        return (f"Budget: {self.num_iterations} iterations per model, batch "
                f"{self.batch_size}, {networks}")

    def describe(self):
        return (f"{self.describe_training()}; metrics of the final "
                f"checkpoint against the test split from N = "
                f"{self.num_samples} samples; features: {self.protocol}.")
