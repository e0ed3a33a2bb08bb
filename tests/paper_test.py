"""The paper's numbers in flexae_tf.experiments.paper against the shared
copy of the paper's tables (../shared/PAPER_RESULTS.md)."""

import os
import re

import pytest

from flexae_tf.core import paths
from flexae_tf.experiments import paper
from flexae_tf.experiments import sheets

PAPER_RESULTS = os.path.join(paths.shared_dir(), "PAPER_RESULTS.md")
# PAPER_RESULTS.md's column / row names of the two datasets.
_DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion"}


def _tables():
    """{heading prefix: [rows as lists of cells]} of every Markdown table."""
    if not os.path.exists(PAPER_RESULTS):
        pytest.skip(f"{PAPER_RESULTS} not found (set FLEXAE_SHARED_DIR)")
    tables, heading = {}, None
    with open(PAPER_RESULTS) as f:
        for line in f:
            if line.startswith("## "):
                heading = line[3:].split(":")[0].strip()
            elif line.startswith("|") and not re.match(r"\|[-| ]+\|$",
                                                       line.strip()):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                tables.setdefault(heading, []).append(cells)
    return tables


def _by_name(table):
    header, *rows = table
    return {row[0]: dict(zip(header, row)) for row in rows}


def test_tables_1_and_2_match_the_shared_copy():
    tables = _tables()
    table_1 = _by_name(tables["FlexAE Table 1"])
    table_2 = _by_name(tables["FlexAE Table 2"])
    for (dataset, model), (rec, gen) in paper.TABLE_1.items():
        column = _DATASETS[dataset]
        assert float(table_1[model][f"{column} Rec."]) == rec
        assert float(table_1[model][f"{column} Gen."]) == gen
    for (dataset, model), values in paper.TABLE_2.items():
        cell = table_2[model][_DATASETS[dataset]]
        assert tuple(map(float, cell.split("/"))) == values
    # Every paper row of ours that the shared tables have for MNIST.
    assert {m for d, m in paper.TABLE_1 if d == "mnist"} == {
        "VAE", "WAE-GAN", "AE + GMM", "RAE + GMM", "MaskAAE", "FlexAE",
        "FlexAE-SR"}


def test_tables_3_and_4_match_the_shared_copy():
    tables = _tables()
    multiples = {"m_b": 1, "2 m_b": 2, "4 m_b": 4}
    table_3 = {(row[0], multiples[row[1]]): row[2:]
               for row in tables["FlexAE Table 3"][1:]}
    for (dataset, model, k), values in paper.TABLE_3.items():
        wae_rec, sr_rec, wae_gen, sr_gen = map(
            float, table_3[(_DATASETS[dataset], k)])
        want = ((wae_rec, wae_gen) if model == "WAE-GAN"
                else (sr_rec, sr_gen))
        assert values == want
    table_4 = _by_name(tables["FlexAE Table 4"])
    for dataset, pairs in paper.TABLE_4.items():
        row = table_4[_DATASETS[dataset]]
        for pair, values in pairs.items():
            assert tuple(map(float, row[pair].split("/"))) == values


def test_cells_name_our_models_and_say_what_is_missing():
    assert paper.baselines_cell("mnist", "FlexAE-SR") == (
        "7.63 / 6.75; F_8 / F_1/8 0.98 / 0.99")
    assert paper.baselines_cell("mnist", "AE+GMM") == "9.69 / 14.7"
    assert paper.baselines_cell("mnist", "FP-VAE") == "not in the paper"
    assert paper.latent_dim_cell("mnist", "WAE-GAN", 128, 32) == (
        "3.99 / 37.16 (m = 128)")
    # Another m_b: the paper's row at the same ratio, named by its m.
    assert paper.latent_dim_cell("mnist", "FlexAE-SR", 16, 8) == (
        "3.1 / 3.37 (m = 64)")
    assert paper.latent_dim_cell("mnist", "FlexAE-SR", 24, 8) == (
        "not in the paper")
    assert set(paper._PAPER_NAMES) <= set(sheets.MODEL_SHEETS)  # pylint: disable=protected-access
