"""The pre-registered verdict rule (flexae_tf/experiments/paired.py)."""

import math

import pytest
from scipy import stats

from flexae_tf.experiments import paired


def test_paired_t_matches_hand_computation():
    # d = (2, 4, 6): mean 4, SD 2, t = 4 / (2 / sqrt(3)) = 3.4641, 2 df.
    result = paired.compare([1.0, 1.0, 1.0], [3.0, 5.0, 7.0])
    assert result.differences == (2.0, 4.0, 6.0)
    assert result.mean == 4.0 and result.sd == 2.0
    assert result.t == pytest.approx(2 * math.sqrt(3))
    assert result.p_one_sided == pytest.approx(stats.t.sf(2 * math.sqrt(3),
                                                          2))
    assert result.p_one_sided == pytest.approx(0.03709, abs=1e-4)
    assert result.p_sign == pytest.approx(0.125)  # 0.5 ** 3
    assert result.verdict == paired.HOLDS


def test_verdicts_need_every_seed_and_the_level():
    # The WAE-GAN rises +146, +149, +39: t = 3.08, two-sided
    # p = 0.091, so one-sided 0.046 < 0.05 with every seed agreeing.
    rises = paired.compare([0.0, 0.0, 0.0], [146.0, 149.0, 39.0])
    assert rises.t == pytest.approx(3.077, abs=1e-3)
    assert rises.p_one_sided == pytest.approx(0.0457, abs=1e-3)
    assert rises.verdict == paired.HOLDS
    # Every seed agrees but p > 0.05: inconclusive.
    noisy = paired.compare([0.0, 0.0, 0.0], [1.0, 10.0, 0.5])
    assert noisy.p_one_sided > 0.05 and noisy.verdict == paired.INCONCLUSIVE
    # One seed against: never "holds", whatever the mean.
    mixed = paired.compare([0.0, 0.0, 0.0], [10.0, 12.0, -0.1])
    assert mixed.verdict == paired.INCONCLUSIVE
    # The opposite shown in every seed.
    reverse = paired.compare([3.0, 5.0, 7.0], [1.0, 1.0, 1.0])
    assert reverse.verdict == paired.DOES_NOT_HOLD
    assert reverse.p_reverse == pytest.approx(0.03709, abs=1e-4)
    assert "does not hold" in reverse.describe()


def test_constant_differences_and_bad_input():
    assert paired.compare([0.0, 0.0], [1.0, 1.0]).verdict == paired.HOLDS
    assert paired.compare([1.0, 1.0], [1.0, 1.0]).verdict == (
        paired.INCONCLUSIVE)
    with pytest.raises(ValueError, match="2 seeds"):
        paired.compare([1.0], [2.0])
    with pytest.raises(ValueError):
        paired.compare([1.0, 2.0], [1.0, 2.0, 3.0])


def test_flatness_over_the_last_fifth():
    curve = {100: 10.0, 800: 5.0, 900: 4.5, 1000: 4.0}
    # Tail starts at 800: (4.0 - 5.0) / 5.0.
    assert paired.relative_change_over_tail(curve) == pytest.approx(-0.2)
    assert math.isnan(paired.relative_change_over_tail({1000: 4.0}))
    assert math.isnan(paired.relative_change_over_tail({}))
    # A curve too coarse to have two points in its last fifth says so.
    assert math.isnan(paired.relative_change_over_tail({0: 1.0, 1: 2.0}))


def test_steep_is_a_fall_of_more_than_five_percent_over_the_tail():
    """The README's protocol: a curve still falling by more than 5 % over
    its last 20 % of iterations is called steep beside the verdict."""
    falling = {4000: 100.0, 4500: 97.0, 5000: 94.0}  # -6 %
    flat = {4000: 100.0, 5000: 96.0}  # -4 %
    rising = {4000: 100.0, 5000: 120.0}
    assert paired.is_steep(falling) and paired.describe_flatness(
        falling) == "-6.0 % (steep)"
    assert not paired.is_steep(flat)
    assert paired.describe_flatness(flat) == "-4.0 %"
    assert not paired.is_steep(rising)
    assert paired.describe_flatness(rising) == "+20.0 %"
    assert not paired.is_steep({5000: 1.0})
    assert paired.describe_flatness({5000: 1.0}) == "n/a"
