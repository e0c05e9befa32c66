"""Scores combined by rank: the ``blend`` candidate and the ensembles' weighted mixes.

NumPy and SciPy only, so that ``memdev submit`` mixes stored test scores without TensorFlow.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

# The candidates whose ranks ``blend`` averages, in either regime with labels: the DevNet head, the stack
# and both boosters on the features alone. With every label (full), on cardio, where the founders' blend
# of the DevNet head and the stack trailed CatBoost, the four raised nested CV and the F1 of train.csv's
# halves; with a few labeled anomalies (weak), the first three had the best average precision against the
# hidden labels of weak versions of the fully labeled practice sets (30 labels kept, the rest hidden), and
# CatBoost as a fourth raised it on all three (BENCHMARKS-notes.md).
BLEND_PARTS = ("devnet", "stack", "gbm", "catboost")


def blend(*scores: np.ndarray) -> np.ndarray:
    return np.mean([rankdata(s) / len(s) for s in scores], axis=0)


def rank_mix(scores: dict[str, np.ndarray], weights: dict[str, float],
             reference: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The weighted mean of each candidate's ranks, in (0, 1].

    A row's rank is its share of ``reference[name]`` (the candidate's
    out-of-fold scores) at or below its score; without a reference, its rank
    among these rows. Ranks against the out-of-fold scores keep the scale the
    threshold was chosen on: test rows of a novelty competition are more often
    anomalous than the training rows, and ranks among them alone would call
    only as many rows as the training rows' share.
    """
    def rank(name: str) -> np.ndarray:
        if reference is None:
            return rankdata(scores[name]) / len(scores[name])
        return np.searchsorted(np.sort(reference[name]), scores[name], side="right") / len(reference[name])

    return sum(weight * rank(name) for name, weight in weights.items())
