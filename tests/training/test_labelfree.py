"""The label-free rule: one small pure function from scores, feature statistics and the regime to a choice and its
reason."""

import numpy as np

from memdev.training import labelfree

RNG = np.random.default_rng(0)
SCORES = {name: RNG.random(50) for name in ("memae", "iforest", "lof")}
IMAGE_LIKE = {"rows": 1000.0, "columns": 64.0, "k90": 29.0, "binary_share": 0.09}
TABULAR = {"rows": 1000.0, "columns": 21.0, "k90": 9.0, "binary_share": 0.3}


def test_statistics_count_the_components_for_90_percent_of_the_variance_and_the_binary_columns():
    rng = np.random.default_rng(1)
    low_rank = rng.normal(size=(2000, 3)) @ rng.normal(size=(3, 40))  # 3 directions of variance
    binary = rng.integers(0, 2, size=(2000, 10)).astype(float)
    stats = labelfree.statistics(np.c_[low_rank, binary])
    assert stats["rows"] == 2000 and stats["columns"] == 50 and stats["binary_share"] == 0.2
    assert 3 <= stats["k90"] <= 13  # the 3 directions, and the binary columns' share of the variance
    assert labelfree.statistics(rng.normal(size=(500, 40)))["k90"] >= 30  # noise: every direction counts


def test_tabular_data_and_every_regime_but_novelty_submit_isolation_forest_and_say_why():
    for stats, regime in ((TABULAR, "novelty"), (IMAGE_LIKE, "unsupervised"), (IMAGE_LIKE, "weak"),
                          ({**IMAGE_LIKE, "binary_share": 0.6}, "novelty")):
        choice = labelfree.choose(SCORES, stats, regime)
        assert choice.weights == {"iforest": 1.0}, (stats, regime)
        assert "IsolationForest" in choice.reason and "\n" not in choice.reason
    assert labelfree.choose(SCORES, TABULAR, "novelty") == labelfree.choose(SCORES, TABULAR, "novelty")  # pure


def test_image_like_novelty_data_submits_the_rank_mean_of_lof_and_the_memae():
    choice = labelfree.choose(SCORES, IMAGE_LIKE, "novelty")
    assert choice.weights == {"lof": 0.5, "memae": 0.5}
    assert "image-like" in choice.reason and "29 principal components" in choice.reason


def test_the_config_overrides_the_rule():
    assert labelfree.choose(SCORES, TABULAR, "novelty", "memae").weights == {"memae": 1.0}
    choice = labelfree.choose(SCORES, IMAGE_LIKE, "novelty", "iforest")
    assert choice.weights == {"iforest": 1.0} and "config" in choice.reason
    assert labelfree.choose(SCORES, TABULAR, "unsupervised", "lof+memae").weights == {"lof": 0.5, "memae": 0.5}
