"""The one way a matplotlib figure becomes a PNG (headless, atomic)."""

import io

from flexae_tf.core import files


def pyplot():
    """matplotlib.pyplot on the Agg backend: no display is needed."""
    import matplotlib  # pylint: disable=g-import-not-at-top
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
    return plt


def to_png(figure, dpi=100):
    """PNG bytes of `figure`, which is closed."""
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        pyplot().close(figure)
    return buffer.getvalue()


def save(figure, path, dpi=100):
    """Writes `figure` to `path` as PNG (atomically) and closes it."""
    files.write_atomically(path, to_png(figure, dpi))
