"""The suites' plots, as PNG files (matplotlib's Agg backend, no display)."""

import os

import numpy as np

from flexae_tf.core import figures

_LINE_STYLES = ("-", "--", ":", "-.")


def plot_curves(path, curves, xlabel, ylabel, title, log_y=False,
                symlog_x=None, marker="."):
    """Line plot of {label: (x [n], y [n])}.

    Args:
      log_y: for distances.
      symlog_x: None, or the x below which a symmetric-log x axis is
        linear (so that x = 0 shares the plot with 0.01, 0.1, 1).
    """
    plt = figures.pyplot()
    figure, ax = plt.subplots(figsize=(5, 3.5))
    # The default colour cycle has ten colours and the baselines suite draws
    # eleven models: once the colours repeat, the line style changes.
    colours = len(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for i, (label, (x, y)) in enumerate(curves.items()):
        ax.plot(x, y, marker=marker, label=label,
                linestyle=_LINE_STYLES[i // colours % len(_LINE_STYLES)])
    if symlog_x is not None:
        ax.set_xscale("symlog", linthresh=symlog_x)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    if log_y:
        ax.set_yscale("log")
    ax.legend(fontsize=7 if len(curves) > 6 else None)
    ax.grid(alpha=0.3)
    figures.save(figure, path)


def plot_bars(path, values, ylabel, title):
    """Bar chart of {label: value}."""
    plt = figures.pyplot()
    figure, ax = plt.subplots(figsize=(max(4, 0.9 * len(values)), 3.5))
    labels = list(values)
    ax.bar(range(len(labels)), [values[k] for k in labels])
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    figures.save(figure, path)


def nac_figure(report, filename, nacs, context):
    """The NAC figure: one bar per model; `context` names iterations, N."""
    plot_bars(os.path.join(report.out_dir, filename), nacs,
              "NAC (mean |off-diagonal corr|)",
              f"Latent code correlation, {context}")
    report.figure(filename, f"NAC of encoded test codes, {context}.")


def plot_scatter_grid(path, panels, title=""):
    """Rows of 2-d scatter panels: [(row title, [(points [n, 2], label)])].

    Each row is one model; each panel is titled "row title / label".
    """
    plt = figures.pyplot()
    columns = max(len(points) for _, points in panels)
    figure, axes = plt.subplots(len(panels), columns, squeeze=False,
                                figsize=(3.2 * columns, 3.0 * len(panels)))
    for row, (row_title, points) in enumerate(panels):
        for col, (xy, label) in enumerate(points):
            ax = axes[row, col]
            xy = np.asarray(xy)
            ax.scatter(xy[:, 0], xy[:, 1], s=2, alpha=0.4)
            ax.set_title(f"{row_title}\n{label}", fontsize=8)
            ax.tick_params(labelsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figures.save(figure, path)


def plot_codes_and_prior(path, panels, title):
    """Per model: codes coloured by class | prior samples, shared frame.

    `panels`: [(name, codes [n, 2], labels [n], class names, prior [n, 2])].
    """
    plt = figures.pyplot()
    figure, axes = plt.subplots(len(panels), 2, squeeze=False,
                                figsize=(7.0, 3.2 * len(panels)))
    for row, (name, codes, labels, names, prior) in enumerate(panels):
        both = np.concatenate([codes, prior])
        low, high = np.percentile(both, [0.5, 99.5], axis=0)
        pad = 0.05 * (high - low)
        for col, (points, text) in enumerate(
                ((codes, "encoded test codes"), (prior, "prior samples"))):
            ax = axes[row, col]
            if col == 0:
                scatter = ax.scatter(points[:, 0], points[:, 1], s=2,
                                     c=labels, cmap="tab10", vmin=-0.5,
                                     vmax=9.5)
                figure.colorbar(scatter, ax=ax, ticks=range(len(names)))
            else:
                ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5,
                           color="gray")
            ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
            ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
            ax.set_title(f"{name}: {text}", fontsize=8)
            ax.tick_params(labelsize=7)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figures.save(figure, path)
