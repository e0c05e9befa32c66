"""The label-free rule: what to submit when no labels can choose (regimes novelty and unsupervised,
and a labeled regime with fewer than 2 labeled anomalies).

One small pure function: it sees the label-free candidates' out-of-fold
scores, a few statistics of the features and the regime, and returns
weights over candidates with a one-line reason that the CV table prints.

The rule, from issue 15's research on 14 label-free versions of the
practice data and 11 image-like novelty sets (the demo's and scikit-learn's
8x8 digits, one anomalous digit each), ROC-AUC with hidden labels:

* IsolationForest by default. On the 14 tabular sets every other score
  tried fell below it somewhere: the MemAE's error on 10, LOF on 11, their
  rank mean on 11.
* Image-like data in the novelty regime (many directions of variance:
  :data:`IMAGE_COMPONENTS` or more principal components for 90% of it, and
  mostly non-binary columns): the rank mean of LOF and the MemAE's error.
  There IsolationForest fell behind (mean ROC-AUC 0.135 below this mean, and
  below it on all 11 sets), LOF alone was about as good (0.02 above), and the
  mean keeps the MemAE, which sees the pixels' shared structure. No
  tabular set passes the gate, so there the rule is IsolationForest still.

``label_free`` in the config overrides the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

IMAGE_COMPONENTS = 15  # principal components for 90% of the variance, from which data counts as image-like
BINARY_SHARE = 0.5  # image-like data has fewer than this share of columns with at most 2 values
SAMPLE_ROWS = 20_000  # rows the statistics look at, at most
NAMES = {"iforest": "IsolationForest", "lof": "LOF", "memae": "the MemAE's error"}


@dataclass
class LabelFree:
    """Weights over label-free candidates (one weight: that candidate alone), and why."""

    weights: dict[str, float]
    reason: str


def statistics(X: np.ndarray, seed: int = 0) -> dict[str, float]:
    """What the rule knows of the features besides the scores: their size and shape.

    ``k90``: how many principal components explain 90% of the variance;
    ``binary_share``: the share of columns with at most 2 distinct values.
    Both on at most :data:`SAMPLE_ROWS` random rows.
    """
    rows, columns = X.shape
    picked = np.sort(np.random.default_rng(seed).choice(rows, min(rows, SAMPLE_ROWS), replace=False))
    sample = np.asarray(X[picked], dtype=np.float64)
    binary = np.mean([len(np.unique(column)) <= 2 for column in sample.T]) if columns else 0.0
    k90 = 0
    if len(sample) > 1 and columns:
        explained = np.cumsum(PCA().fit(sample).explained_variance_ratio_)
        k90 = int(np.searchsorted(explained, 0.9) + 1)
    return {"rows": float(rows), "columns": float(columns), "k90": float(k90), "binary_share": float(binary)}


def choose(scores: dict[str, np.ndarray], stats: dict[str, float], regime: str, override: str = "auto") -> LabelFree:
    """The submitted score among ``scores``' candidates, from ``stats`` (:func:`statistics`) and the regime.

    ``override``: the config's ``label_free``, a candidate or ``lof+memae``
    (their rank mean) instead of the rule (``auto``).
    """
    if override != "auto":
        names = override.split("+")
        return LabelFree(_mean(names), f"label-free: {_named(names)}, as the config's label_free asks")
    shape = (f"{stats.get('k90', 0):.0f} principal components for 90% of the variance, "
             f"{stats.get('binary_share', 0):.0%} binary columns")
    image_like = stats.get("k90", 0) >= IMAGE_COMPONENTS and stats.get("binary_share", 1) < BINARY_SHARE
    if regime == "novelty" and image_like and {"lof", "memae"} <= set(scores):
        return LabelFree(_mean(["lof", "memae"]), f"label-free rule: image-like novelty data ({shape}): "
                                                  "the rank mean of LOF and the MemAE's error")
    why = "novelty data that is not image-like" if regime == "novelty" else f"regime {regime}"
    return LabelFree({"iforest": 1.0}, f"label-free rule: IsolationForest, for {why} ({shape}); "
                                       "never below it on the 14 label-free practice sets")


def _mean(names: list[str]) -> dict[str, float]:
    return {name: 1.0 / len(names) for name in names}


def _named(names: list[str]) -> str:
    text = " and ".join(NAMES.get(name, name) for name in names)
    return f"the rank mean of {text}" if len(names) > 1 else text
