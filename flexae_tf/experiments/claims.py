"""The papers' claims each suite tests, fixed before its runs.

A suite run over seeds (`--seeds`) ends its summary with one verdict per
claim and dataset, by the README's pre-registered rule
(`paired.compare`): the claim "`lower`'s `metric` is below `higher`'s"
holds only when every seed agrees and the one-sided paired t-test gives
p < 0.05. Registering a claim here, not in a report, is what makes it
pre-registered: the git history dates it before the data.
"""

import dataclasses
from typing import Dict, Tuple

from flexae_tf.experiments import formatting
from flexae_tf.experiments import paired


@dataclasses.dataclass(frozen=True)
class Claim:
    """"`lower` has a lower `metric` than `higher`", paired by seed."""

    name: str  # e.g. "C1 (FlexAE Fig. 2)"
    metric: str  # a results.csv metric, at the suite's last iteration
    lower: str  # model names as the suite's rows spell them
    higher: str


CLAIMS: Dict[str, Tuple[Claim, ...]] = {
    # Added 2026-12-04, before the re-run with WAE-GAN.
    "synthetic_dim": (
        Claim("C1 (FlexAE Fig. 2): with m = 50 > n = 5, FlexAE's generation "
              "FD is below the fixed-prior WAE-GAN's", "generation_fd",
              "FlexAE", "WAE-GAN (Tolstikhin et al.)"),
    ),
}


def verdict_lines(suite, summary):
    """Markdown lines: each claim of `suite` judged on a seed summary.

    Args:
      suite: a suite name (CLAIMS key).
      summary: `seeds.seed_summary`'s {(dataset, model, metric,
        iterations): (mean, std, [per-seed values in seed order])}.

    Returns:
      [] when the suite registers no claim; else a heading, the rule and
      one line per (claim, dataset) found in the summary.
    """
    lines = []
    for claim in CLAIMS.get(suite, ()):
        last = {}
        for dataset, model, metric, iterations in summary:
            if metric == claim.metric and model in (claim.lower,
                                                    claim.higher):
                key = (dataset, model)
                last[key] = max(last.get(key, iterations), iterations)
        for dataset in sorted({d for d, _ in last}):
            its = {m: last.get((dataset, m)) for m in (claim.lower,
                                                      claim.higher)}
            if None in its.values() or its[claim.lower] != its[
                    claim.higher]:
                lines.append(f"- {claim.name} ({dataset}): not judged, the "
                             f"two models' last iterations are {its}.")
                continue
            values = [summary[(dataset, m, claim.metric, its[m])][2]
                      for m in (claim.lower, claim.higher)]
            if len(values[0]) != len(values[1]) or len(values[0]) < 2:
                lines.append(f"- {claim.name} ({dataset}): not judged, "
                             f"needs the same >= 2 seeds for both models.")
                continue
            result = paired.compare(*values)
            lines.append(
                f"- {claim.name} ({dataset}, {claim.metric} at iteration "
                f"{its[claim.lower]}; {claim.lower} "
                f"{' / '.join(formatting.fmt(v) for v in values[0])} vs "
                f"{claim.higher} "
                f"{' / '.join(formatting.fmt(v) for v in values[1])}): "
                f"{result.describe()}.")
    if not lines:
        return []
    return ["## Verdicts", "",
            "By the pre-registered rule (README, Protocol): per-seed paired "
            "differences, **holds** only when every seed agrees and the "
            f"one-sided paired t-test gives p < {paired.ALPHA}.", ""] + (
                lines + [""])
