"""How the reports write numbers, tables and names."""

import re

import numpy as np


def fmt(value, digits=4):
    """A number with `digits` significant digits ("n/a" for NaN)."""
    if isinstance(value, (float, np.floating)):
        return "n/a" if np.isnan(value) else f"{value:.{digits}g}"
    return str(value)


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def tag(name):
    """A TensorBoard-safe tag (and file name): FD[proj-64] -> FD_proj-64_."""
    return re.sub(r"[^A-Za-z0-9_.\-/]", "_", str(name))
