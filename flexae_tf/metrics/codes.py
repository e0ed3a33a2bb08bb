"""Statistics of latent codes."""

import numpy as np


def nac(codes):
    """Mean absolute off-diagonal correlation of codes [n, m] (MaskAAE).

    Dimensions with (near) zero variance, e.g. switched off by a mask,
    have no correlation and are left out.

    Returns:
      (NAC, number of dimensions used); NAC is NaN with < 2 of them.
    """
    codes = np.asarray(codes, np.float64)
    active = codes.std(axis=0) > 1e-6 * max(codes.std(), 1e-12)
    if active.sum() < 2:
        return float("nan"), int(active.sum())
    corr = np.corrcoef(codes[:, active], rowvar=False)
    off = corr[~np.eye(len(corr), dtype=bool)]
    return float(np.mean(np.abs(off))), int(active.sum())
