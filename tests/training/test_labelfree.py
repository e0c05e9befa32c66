"""The label-free rule: one small pure function from scores and feature statistics to a choice and its reason."""

import numpy as np

from memdev.training import labelfree


def test_the_rule_submits_isolation_forest_and_says_why():
    rng = np.random.default_rng(0)
    scores = {name: rng.random(50) for name in ("memae", "iforest", "lof")}
    stats = labelfree.statistics(rng.random((50, 4)))
    assert stats == {"rows": 50.0, "columns": 4.0}
    choice = labelfree.choose(scores, stats)
    assert choice.weights == {"iforest": 1.0}
    assert "IsolationForest" in choice.reason and "\n" not in choice.reason
    assert labelfree.choose(scores, stats) == choice  # pure: the same inputs, the same answer
