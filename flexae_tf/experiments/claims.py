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
    metric: str  # a results.csv metric, each seed's last row of it
    lower: str  # model names as the suite's rows spell them
    higher: str
    paper: str  # the paper's numbers (its protocol, 130k iterations)


# Image suites: the protocol's headline where FID at N = 10,000 is not
# affordable, Inception KID (`features='inception'`; its CSV name).
_KID = "generation_KID"

# Each added 2026-12-04, before the re-run that judges it.
CLAIMS: Dict[str, Tuple[Claim, ...]] = {
    "synthetic_dim": (
        Claim("C1 (FlexAE Fig. 2): with m = 50 > n = 5, FlexAE's generation "
              "FD is below the fixed-prior WAE-GAN's", "generation_fd",
              "FlexAE", "WAE-GAN (Tolstikhin et al.)",
              "plotted in Fig. 2, no numbers"),
    ),
    "latent_dim": (
        Claim("C2 (FlexAE Table 3): WAE-GAN's generation worsens from "
              "m = 32 to 128", _KID, "WAE-GAN m=32", "WAE-GAN m=128",
              "MNIST FID 15.34 -> 37.16"),
        Claim("C2 (FlexAE Table 3): FlexAE-SR's generation improves from "
              "m = 32 to 128", _KID, "FlexAE-SR m=128", "FlexAE-SR m=32",
              "MNIST FID 5.86 -> 2.79"),
    ) + tuple(
        # Added 2026-12-06, as the m = 64 runs started and before any of
        # their scores: Table 3's monotone trend read as each
        # neighbouring pair, each judged alone (as C5's middle betas).
        Claim(f"C2 (FlexAE Table 3): {model}'s generation {verb} from "
              f"m = {small} to {large}", _KID,
              f"{model} m={small if worsens else large}",
              f"{model} m={large if worsens else small}",
              f"MNIST FID {paper_small} -> {paper_large}")
        for model, worsens, verb, fids in (
            ("WAE-GAN", True, "worsens", (15.34, 24.58, 37.16)),
            ("FlexAE-SR", False, "improves", (5.86, 3.37, 2.79)))
        for (small, paper_small), (large, paper_large) in (
            ((32, fids[0]), (64, fids[1])), ((64, fids[1]), (128, fids[2])))),
    "baselines": (
        Claim("C3 (FlexAE Tables 1, 2): FlexAE-SR generates better than "
              "FlexAE", _KID, "FlexAE-SR", "FlexAE",
              "FID MNIST 6.75 vs 7.28, Fashion-MNIST 14.41 vs 14.81"),
        Claim("C3 (FlexAE Tables 1, 2): FlexAE generates better than "
              "WAE-GAN", _KID, "FlexAE", "WAE-GAN",
              "FID MNIST 7.28 vs 13.60, Fashion-MNIST 14.81 vs 30.21"),
    ),
    "beta_sweep": (
        Claim("C5 (learned-priors Fig. 3): FP-VAE generates better at "
              "beta = 0 than at 1", _KID, "FP-VAE beta=0", "FP-VAE beta=1",
              "plotted in Fig. 3, no numbers"),
        Claim("C5 (learned-priors Fig. 3): the learned-prior AAE generates "
              "better at beta = 0 than at 1", _KID,
              "AAE (learned prior) beta=0", "AAE (learned prior) beta=1",
              "plotted in Fig. 3, no numbers"),
    ) + tuple(
        # Added 2026-12-05, as the middle betas' runs started and before
        # any of their Inception scores: "FID falls as beta falls" read
        # as each neighbouring pair of the paper's sweep, each judged
        # alone.
        Claim(f"C5 (learned-priors Fig. 3): {title} generates better at "
              f"beta = {low:g} than at {high:g}", _KID,
              f"{model} beta={low:g}", f"{model} beta={high:g}",
              "plotted in Fig. 3, no numbers")
        for model, title in (("FP-VAE", "FP-VAE"),
                             ("AAE (learned prior)",
                              "the learned-prior AAE"))
        for low, high in ((0.0, 0.01), (0.01, 0.1), (0.1, 1.0))) + (
        # Added 2026-12-05 (evening), before seeds 3 to 5 ran: seeds 0 to
        # 2 put the AAE's beta = 1 below its 0.1 in every seed (p =
        # 0.082), the paper's opposite. A direction read off those seeds
        # is confirmed only on seeds that did not suggest it, so its
        # verdict counts from a run over --seeds=3,4,5 alone.
        Claim("C5 follow-up (from seeds 0 to 2; judge on seeds 3 to 5): "
              "the learned-prior AAE generates better at beta = 1 than "
              "at 0.1", _KID, "AAE (learned prior) beta=1",
              "AAE (learned prior) beta=0.1",
              "plotted in Fig. 3, no numbers; the paper has the opposite"),
    ),
}


def verdict_lines(suite, per_seed):
    """Markdown lines: each claim of `suite` judged over seeds.

    Args:
      suite: a suite name (CLAIMS key).
      per_seed: {(dataset, model, metric): {seed: (iteration, value)}},
        each seed's last row of each metric (`seeds.last_per_seed`). A
        model's iteration may differ between seeds (a checkpoint chosen
        on validation); pairs are formed by seed.

    Returns:
      [] when the suite registers no claim; else a heading, the rule and
      one line per (claim, dataset) found.
    """
    lines = []
    for claim in CLAIMS.get(suite, ()):
        datasets = sorted({d for d, m, metric in per_seed
                           if metric == claim.metric
                           and m in (claim.lower, claim.higher)})
        for dataset in datasets:
            lower, higher = (per_seed.get((dataset, m, claim.metric), {})
                             for m in (claim.lower, claim.higher))
            seeds = sorted(set(lower) & set(higher))
            if len(seeds) < 2 or set(lower) != set(higher):
                lines.append(f"- {claim.name} ({dataset}): not judged, "
                             f"needs the same >= 2 seeds for both models "
                             f"(have {sorted(lower)} and {sorted(higher)}).")
                continue
            values = [[side[s][1] for s in seeds] for side in (lower,
                                                                higher)]
            its = sorted({side[s][0] for side in (lower, higher)
                          for s in seeds})
            result = paired.compare(*values)
            lines.append(
                f"- {claim.name} ({dataset}, {claim.metric} at iteration "
                f"{' / '.join(map(str, its))}, seeds {seeds}; {claim.lower} "
                f"{' / '.join(formatting.fmt(v) for v in values[0])} vs "
                f"{claim.higher} "
                f"{' / '.join(formatting.fmt(v) for v in values[1])}; "
                f"paper: {claim.paper}): {result.describe()}.")
    if not lines:
        return []
    return ["## Verdicts", "",
            "By the pre-registered rule (README, Protocol): per-seed paired "
            "differences, **holds** only when every seed agrees and the "
            f"one-sided paired t-test gives p < {paired.ALPHA}.", ""] + (
                lines + [""])
