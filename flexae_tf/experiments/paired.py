"""The pre-registered verdict rule: per-seed paired differences.

A claim "A is lower than B" (e.g. FID of FlexAE-SR below WAE-GAN's) is
judged on d_s = B_s - A_s, one per seed s, where A and B share the seed.
It **holds** when every d_s > 0 and the one-sided paired t-test gives
p < alpha; it **does not hold** when the same is true of the opposite
direction (every d_s < 0, p < alpha for "B lower"); otherwise it is
**inconclusive**. The exact sign test's p is reported beside t's: with
n seeds it cannot go below 0.5 ** n (0.125 for three), which is why the
rule uses t. The rule is fixed before any run (README, "Protocol").
"""

import dataclasses
import math
from typing import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05
# A learning curve whose metric still falls by more than this fraction
# over its last 20 % of iterations is "steep" (README, "Protocol").
STEEP_CHANGE = -0.05
HOLDS, DOES_NOT_HOLD, INCONCLUSIVE = "holds", "does not hold", "inconclusive"


@dataclasses.dataclass(frozen=True)
class PairedResult:
    """Paired comparison of `lower` against `higher` over seeds."""

    differences: Sequence[float]  # higher_s - lower_s, one per seed
    mean: float
    sd: float
    t: float
    p_one_sided: float  # for "lower < higher"
    p_reverse: float  # for "higher < lower"
    p_sign: float  # exact sign test, one-sided, the claimed direction
    verdict: str

    def describe(self):
        diffs = ", ".join(f"{d:+.4g}" for d in self.differences)
        return (f"paired differences {diffs}; mean {self.mean:+.4g}, SD "
                f"{self.sd:.3g}, t = {self.t:.3g} ({len(self.differences) - 1}"
                f" df), one-sided p = {self.p_one_sided:.3g} (sign test "
                f"{self.p_sign:.3g}): {self.verdict}")


def compare(lower, higher, alpha=ALPHA):
    """Judges the claim "lower_s < higher_s" over paired seeds.

    Args:
      lower: per-seed values claimed to be lower.
      higher: the same seeds' values claimed to be higher.
      alpha: one-sided level.

    Returns:
      PairedResult.
    """
    lower, higher = np.asarray(lower, float), np.asarray(higher, float)
    if lower.shape != higher.shape or lower.ndim != 1 or len(lower) < 2:
        raise ValueError("compare() needs two equal-length sequences of at "
                         f"least 2 seeds; got {lower.shape}, {higher.shape}.")
    d = higher - lower
    n = len(d)
    mean, sd = float(np.mean(d)), float(np.std(d, ddof=1))
    if sd == 0.0:
        t = math.copysign(math.inf, mean) if mean else 0.0
        p = 0.0 if mean > 0 else 1.0
        p_reverse = 0.0 if mean < 0 else 1.0
    else:
        t = mean / (sd / math.sqrt(n))
        p = float(stats.t.sf(t, n - 1))
        p_reverse = float(stats.t.cdf(t, n - 1))
    p_sign = float(stats.binomtest(int(np.sum(d > 0)), n, 0.5,
                                   alternative="greater").pvalue)
    if np.all(d > 0) and p < alpha:
        verdict = HOLDS
    elif np.all(d < 0) and p_reverse < alpha:
        verdict = DOES_NOT_HOLD
    else:
        verdict = INCONCLUSIVE
    return PairedResult(tuple(float(x) for x in d), mean, sd, float(t), p,
                        p_reverse, p_sign, verdict)


def relative_change_over_tail(curve, tail=0.2):
    """Flatness of a learning curve: relative change over its last 20 %.

    Args:
      curve: {iteration: metric}.
      tail: fraction of the iterations at the end.

    Returns:
      (value at the end - value at the start of the tail) / value at the
      start, from the curve's points; NaN with fewer than two points there.
    """
    if not curve:
        return math.nan
    steps = sorted(curve)
    start = steps[-1] - tail * steps[-1]
    inside = [s for s in steps if s >= start]
    if len(inside) < 2:
        return math.nan
    first, last = curve[inside[0]], curve[inside[-1]]
    return (last - first) / first if first else math.nan


def is_steep(curve, tail=0.2):
    """Whether the curve still falls by more than STEEP_CHANGE over its
    tail (False where it has too few points to tell)."""
    return relative_change_over_tail(curve, tail) < STEEP_CHANGE


def describe_flatness(curve, tail=0.2):
    """The flatness check as a report prints it, e.g. "-2.1 %" or
    "-12.4 % (steep)"; "n/a" for a curve without two points in its tail."""
    change = relative_change_over_tail(curve, tail)
    if math.isnan(change):
        return "n/a"
    return f"{100 * change:+.1f} %" + (" (steep)" if is_steep(curve, tail)
                                       else "")
