"""Evaluation results keyed by everything that defines them, never lost.

One JSON file per run (`<model_dir>/eval/results.json`) holds every number
ever computed for it, one entry per
(protocol, iteration(s), split, N, feature network, metric). A new
evaluation adds or replaces only the entries it computed: re-running with
fewer metrics, another N, other features or another protocol keeps every
earlier number.
"""

import json
import os

from absl import logging

from flexae_tf.core import files

FILE_NAME = "results.json"
KEY_FIELDS = ("protocol", "iteration", "split", "num_samples", "features",
              "metric")


def entry_key(entry):
    """'protocol=..|iteration=..|split=..|num_samples=..|features=..|
    metric=..', from the entry's fields (all required)."""
    missing = [f for f in KEY_FIELDS if f not in entry]
    if missing:
        raise ValueError(f"Result entry lacks {missing}: {entry}")
    return "|".join(f"{f}={entry[f]}" for f in KEY_FIELDS)


def entries_from(results, **fields):
    """Flattens model_metrics.evaluate's dict into keyed entries.

    Args:
      results: {"num_samples", "features", "split", "fid": {...}, ...}.
      **fields: protocol, iteration and anything else every entry shares
        (e.g. selected_by).

    Returns:
      [entry], one per numeric leaf; "metric" is its path, e.g.
      "fid/generation".
    """
    shared = dict(fields, num_samples=results["num_samples"],
                  features=results["features"], split=results["split"])
    entries = []
    for metric, value in _leaves(results):
        if metric in ("num_samples", "iteration"):
            continue
        entries.append(dict(shared, metric=metric, value=value))
    return entries


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}/")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{key}", value


def load(path):
    """{key: entry} of a results file; {} when absent."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        stored = json.load(f)
    return dict(stored.get("entries", {}))


def merge(path, entries):
    """Adds `entries` to the file at `path` (atomically); returns all.

    An entry with the key of a stored one replaces it (same definition,
    newer number); every other stored entry stays.
    """
    stored = load(path)
    for entry in entries:
        key = entry_key(entry)
        if key in stored:
            logging.info("Replacing result %s", key)
        stored[key] = entry
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    files.write_atomically(path, json.dumps(
        {"entries": stored}, indent=2, sort_keys=True))
    return stored
