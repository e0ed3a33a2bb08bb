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
# Checkpoint selection's candidates span the run's last 40 % (the authors
# kept 80k..130k of 130k).
SELECTION_WINDOW = 0.4


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
      select_on_validation: report the evaluation checkpoint (every
        tenth of the run over its last 40 %) with the lowest validation
        FD[proj-64], as the protocol asks, instead of the final one.
      scale_schedules: scale the schedules that depend on the budget
        (sheets.SCHEDULED_MODELS) by num_iterations / the paper's 130k.
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
    select_on_validation: bool = False
    scale_schedules: bool = True
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

    @functools.cached_property
    def _curve_features(self):
        """The periodic evaluation's features (train.eval_features)."""
        return features_lib.RandomProjectionFeatures()

    @property
    def curve_label(self):
        """The learning curves' distance: FD on the trainer's default
        projection (Inception curves would cost more than the training on
        a CPU), whatever the tables' metric."""
        return f"FD[proj-{self._curve_features.dim}]"

    @property
    def curve_protocol(self):
        return self._curve_features.protocol

    @property
    def curve_in_table_space(self):
        """Whether the curve's points and the tables' metric are one
        distance, so the final value ends the curve."""
        return (self.distance == "fid" and self.features == "projection"
                and self.protocol == self.curve_protocol)

    @property
    def selection_features(self):
        """Features of the validation score that selects a checkpoint:
        the learning curves' cheap projection."""
        return self._curve_features

    @property
    def selection_interval(self):
        """Iterations between the candidates of checkpoint selection."""
        return max(1, self.num_iterations // 10)

    def selection_bindings(self):
        """Gin bindings of the evaluation checkpoints selection reads."""
        if not self.select_on_validation:
            return []
        return [f"EvaluationCheckpoints.interval = {self.selection_interval}",
                f"EvaluationCheckpoints.window = {SELECTION_WINDOW}"]

    def curve_bindings(self):
        """Gin bindings of the periodic evaluation that draws the curve:
        the trainer's default projection at the budget's N, every
        `curve_interval` iterations (none when it is 0 or longer than
        the run)."""
        if not 0 < self.curve_interval <= self.num_iterations:
            return []
        if self.num_samples <= self._curve_features.dim:
            raise errors.UserError(
                f"curve_interval={self.curve_interval} draws learning curves "
                f"of {self.curve_label}, which needs num_samples > "
                f"{self._curve_features.dim}; got {self.num_samples}. Raise "
                "N or set the suite's curve_interval = 0.")
        return [f"train.eval_interval = {self.curve_interval}",
                "train.eval_metrics = ('fid',)",
                f"train.eval_num_samples = {self.num_samples}",
                "train.eval_features = 'random_projection'"]

    @property
    def schedule_scale(self):
        """num_iterations over the paper's: what budget-scaled schedules
        are multiplied by (1 where they are not scaled)."""
        if not self.scale_schedules:
            return 1.0
        return self.num_iterations / sheets.PAPER_ITERATIONS

    def schedule_bindings(self, model_name):
        """Gin bindings that scale `model_name`'s budget-dependent
        schedules (none for models without them)."""
        configurable = sheets.SCHEDULED_MODELS.get(model_name)
        if configurable is None or not self.scale_schedules:
            return []
        return [f"{configurable}.schedule_scale = {self.schedule_scale!r}"]

    def describe_training(self):
        networks = (f"narrow networks ({self.network_sheet})"
                    if self.network_sheet else "the authors' network widths")
        return (f"Budget: {self.num_iterations} iterations per model, batch "
                f"{self.batch_size}, {networks}")

    def describe_checkpoint(self):
        """Which checkpoint the tables score."""
        if not self.select_on_validation:
            return "the final checkpoint"
        return (f"the evaluation checkpoint (every "
                f"{self.selection_interval} iterations over the last "
                f"{100 * SELECTION_WINDOW:.0f} %) "
                f"with the lowest validation generation "
                f"{self.curve_label} (the iterations column)")

    def describe(self):
        return (f"{self.describe_training()}; metrics of "
                f"{self.describe_checkpoint()} against the test split from "
                f"N = {self.num_samples} samples; features: {self.protocol}.")
