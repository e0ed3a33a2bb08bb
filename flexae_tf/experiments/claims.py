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


# Image suites: the protocol's headline where FID at N = 10,000 is not
# affordable, Inception KID (`features='inception'`; its CSV name).
_KID = "generation_KID"

# Each added 2026-12-04, before the re-run that judges it.
CLAIMS: Dict[str, Tuple[Claim, ...]] = {
    "synthetic_dim": (
        Claim("C1 (FlexAE Fig. 2): with m = 50 > n = 5, FlexAE's generation "
              "FD is below the fixed-prior WAE-GAN's", "generation_fd",
              "FlexAE", "WAE-GAN (Tolstikhin et al.)"),
    ),
    "latent_dim": (
        Claim("C2 (FlexAE Table 3): WAE-GAN's generation worsens from "
              "m = 32 to 128", _KID, "WAE-GAN m=32", "WAE-GAN m=128"),
        Claim("C2 (FlexAE Table 3): FlexAE-SR's generation improves from "
              "m = 32 to 128", _KID, "FlexAE-SR m=128", "FlexAE-SR m=32"),
    ),
    "baselines": (
        Claim("C3 (FlexAE Tables 1, 2): FlexAE-SR generates better than "
              "FlexAE", _KID, "FlexAE-SR", "FlexAE"),
        Claim("C3 (FlexAE Tables 1, 2): FlexAE generates better than "
              "WAE-GAN", _KID, "FlexAE", "WAE-GAN"),
    ),
    "beta_sweep": (
        Claim("C5 (learned-priors Fig. 3): FP-VAE generates better at "
              "beta = 0 than at 1", _KID, "FP-VAE beta=0", "FP-VAE beta=1"),
        Claim("C5 (learned-priors Fig. 3): the learned-prior AAE generates "
              "better at beta = 0 than at 1", _KID,
              "AAE (learned prior) beta=0", "AAE (learned prior) beta=1"),
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
