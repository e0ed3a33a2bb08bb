"""Precision and recall for distributions (PRD).

Sajjadi et al., "Assessing Generative Models via Precision and Recall",
NeurIPS 2018 (arXiv:1806.00035), as in their reference code
(msmsajjadi/precision-recall-distributions, also google/compare_gan): the
union of evaluated and reference features is clustered with k-means into 20
clusters, each set becomes a histogram over the clusters, the PRD curve is
computed on 1001 equiangular slopes, and curves are averaged over 10
clusterings. The summary pair is F_8 (recall) and F_1/8 (precision).

Clustering is scikit-learn's MiniBatchKMeans with n_init=10, exactly as
the reference code, so our numbers compare with published ones; only its
random_state is set (from `seed`), so that results are reproducible.
`plot_prd` draws the curves as a PNG, as the reference `plot` does.
"""


from absl import logging
import gin
import numpy as np
from sklearn import cluster

from flexae_tf.core import figures


def kmeans(data, num_clusters, seed, num_init=10):
    """MiniBatchKMeans labels [n] and centers [k, d] of `data` [n, d].

    Args:
      data: [n, d] points.
      num_clusters: k.
      seed: int random_state of the clustering.
      num_init: k-means++ initialisations tried (reference: 10).
    """
    model = cluster.MiniBatchKMeans(n_clusters=num_clusters, n_init=num_init,
                                    random_state=seed)
    labels = model.fit(np.asarray(data, np.float64)).labels_
    return labels, model.cluster_centers_


def cluster_histograms(eval_data, ref_data, num_clusters, seed):
    """Clusters the union; returns each set's distribution over clusters [k]."""
    labels, _ = kmeans(np.concatenate([eval_data, ref_data]), num_clusters,
                       seed)
    bins = dict(bins=num_clusters, range=[0, num_clusters], density=True)
    eval_bins = np.histogram(labels[:len(eval_data)], **bins)[0]
    ref_bins = np.histogram(labels[len(eval_data):], **bins)[0]
    return eval_bins, ref_bins


def compute_prd(eval_dist, ref_dist, num_angles=1001, epsilon=1e-10):
    """PRD curve of two discrete distributions (Eq. of Thm. 2 in the paper).

    For slopes lambda = tan(angle), angles equally spaced in
    [epsilon, pi/2 - epsilon]: precision = sum_i min(lambda ref_i, eval_i),
    recall = precision / lambda.

    Args:
      eval_dist, ref_dist: probabilities [k] of the same k states.
      num_angles: number of slopes, in [3, 1e6].
      epsilon: angle kept away from 0 and pi/2, in (0, 0.1).

    Returns:
      precision, recall: float64 [num_angles], clipped to [0, 1].
    """
    if not 0 < epsilon < 0.1:
        raise ValueError(f"epsilon must be in (0, 0.1), got {epsilon}")
    if not 3 <= num_angles <= 1e6:
        raise ValueError(f"num_angles must be in [3, 1e6], got {num_angles}")
    slopes = np.tan(np.linspace(epsilon, np.pi / 2 - epsilon, num_angles))
    eval_dist = np.asarray(eval_dist, np.float64)[None]
    ref_dist = np.asarray(ref_dist, np.float64)[None]
    precision = np.minimum(ref_dist * slopes[:, None], eval_dist).sum(1)
    recall = precision / slopes
    # Rounding can push P = Q just above 1 (as handled in compare_gan).
    if max(precision.max(), recall.max()) > 1.001:
        raise ValueError("Precision or recall above 1: the inputs are not "
                         "probability distributions")
    return np.clip(precision, 0, 1), np.clip(recall, 0, 1)


def compute_prd_from_embedding(eval_data, ref_data, num_clusters=20,
                               num_angles=1001, num_runs=10, seed=0):
    """PRD curve of two embedded samples, averaged over `num_runs` clusterings.

    Args:
      eval_data: [n, d] features of the evaluated (generated) samples.
      ref_data: [n, d] features of the reference (real) samples; same n, as
        unbalanced sets bias the clustering towards the larger one.
      num_clusters, num_angles, num_runs: as in the paper (20, 1001, 10).
      seed: seeds all clusterings.

    Returns:
      precision, recall: float64 [num_angles].
    """
    eval_data = np.asarray(eval_data, np.float64)
    ref_data = np.asarray(ref_data, np.float64)
    if eval_data.ndim != 2 or eval_data.shape != ref_data.shape:
        raise ValueError(f"Need two [n, d] feature sets of equal shape, got "
                         f"{eval_data.shape} and {ref_data.shape}")
    if not (np.all(np.isfinite(eval_data)) and np.all(np.isfinite(ref_data))):
        raise ValueError("Features contain NaN or inf")
    if len(eval_data) < num_clusters:
        raise ValueError(f"Need at least {num_clusters} samples per set, got "
                         f"{len(eval_data)}")
    # One seed per clustering run, all derived from `seed`.
    seeds = np.random.default_rng(seed).integers(2**31 - 1, size=num_runs)
    curves = [compute_prd(*cluster_histograms(eval_data, ref_data,
                                              num_clusters, int(s)),
                          num_angles)
              for s in seeds]
    return tuple(np.mean(np.stack(c), axis=0) for c in zip(*curves))


def f_beta(precision, recall, beta, epsilon=1e-10):
    """F_beta = (1 + beta^2) p r / (beta^2 p + r), elementwise."""
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    return (1 + beta**2) * precision * recall / (
        beta**2 * precision + recall + epsilon)


def max_f_beta_pair(precision, recall, beta=8):
    """(max F_beta, max F_1/beta); with beta = 8: (recall, precision)."""
    precision, recall = np.asarray(precision), np.asarray(recall)
    if not (np.all((0 <= precision) & (precision <= 1))
            and np.all((0 <= recall) & (recall <= 1))):
        raise ValueError("Precision and recall must lie in [0, 1]")
    return (float(np.max(f_beta(precision, recall, beta))),
            float(np.max(f_beta(precision, recall, 1.0 / beta))))


@gin.configurable(denylist=["eval_features", "ref_features"])
def compute_prd_scores(eval_features, ref_features, num_clusters=20,
                       num_angles=1001, num_runs=10, beta=8, seed=0):
    """PRD summary of generated vs reference features.

    Args:
      eval_features: [n, d] features of generated samples.
      ref_features: [n, d] features of real samples.
      num_clusters, num_angles, num_runs, seed: see
        `compute_prd_from_embedding`.
      beta: F_beta weighting (8 in the paper).

    Returns:
      {"precision": F_1/beta, "recall": F_beta, "num_samples": n,
       "precision_curve": [num_angles], "recall_curve": [num_angles]}.
    """
    precision, recall = compute_prd_from_embedding(
        eval_features, ref_features, num_clusters, num_angles, num_runs, seed)
    f_recall, f_precision = max_f_beta_pair(precision, recall, beta)
    logging.info("PRD from %d samples: precision (F_1/%g) %.4f, recall "
                 "(F_%g) %.4f", len(ref_features), beta, f_precision, beta,
                 f_recall)
    return {"precision": f_precision, "recall": f_recall,
            "num_samples": len(ref_features), "precision_curve": precision,
            "recall_curve": recall}


def plot_prd(curves, title=""):
    """PRD curves as a PNG (bytes): recall on x, precision on y.

    Args:
      curves: {label: (precision [a], recall [a])}.
      title: figure title (say N, features and split there).
    """
    figure, ax = figures.pyplot().subplots(figsize=(4, 4), dpi=100)
    for label, (precision, recall) in curves.items():
        ax.plot(recall, precision, label=label, linewidth=1.5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Recall", fontsize=10)
    ax.set_ylabel("Precision", fontsize=10)
    ax.set_title(title, fontsize=8)
    ax.legend(loc="lower left", fontsize=8)
    return figures.to_png(figure)
