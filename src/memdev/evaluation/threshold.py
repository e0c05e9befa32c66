"""Comparator thresholds: how scores become 0/1 labels.

A threshold is chosen on out-of-fold scores and stored in a unit that
transfers to other rows: a share of rows to call anomalous (``rate``) for
strategies that rank, or a score value for strategies tied to the normal
rows' own score scale. The test rows meet it through each fold model's own
scores (:meth:`Threshold.apply_folds`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from memdev.config import LABEL_METRICS, Config
from memdev.errors import MemdevError
from memdev.evaluation import metrics

# standard errors by which the fold models' own calls must leave the out-of-fold share before a labeled cut
# follows them: a stratified split's test rows stay within it (as the practice competitions' do)
SHIFT = 3.0
LABELED_CUTS = (*LABEL_METRICS, "pu")  # the strategies that cut where the labeled anomalies say
# the share of the labeled anomalies a 'pu' cut calls at least: one of them by chance first of all rows would
# otherwise make a cut of one row look best wherever the ranking is not sharp (BENCHMARKS-notes.md, "pu")
PU_LEAST = 1 / 3


@dataclass
class Threshold:
    strategy: str
    value: float  # on the out-of-fold score scale
    rate: float  # share of rows at or above ``value`` out of fold
    by: str  # "rate" or "value": which of the two :meth:`apply` carries to other rows

    def to_dict(self) -> dict:
        return asdict(self)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        scores = np.asarray(scores, dtype=float)
        if self.by == "value":
            return (scores >= self.value).astype(np.int8)
        count = self.count(len(scores))
        labels = np.zeros(len(scores), dtype=np.int8)
        if count:
            # stable ranking: ties resolved by position, so results are reproducible
            labels[np.argsort(-scores, kind="stable")[:count]] = 1
        return labels

    @property
    def uses_folds(self) -> bool:
        """Whether :meth:`apply_folds` reads the fold models' own test scores (every cut but ``contamination``)."""
        return self.by == "value" or self.strategy in LABELED_CUTS

    def count(self, rows: int) -> int:
        """How many of ``rows`` rows a cut carried by its share calls anomalous."""
        return int(round(self.rate * rows))

    def apply_folds(self, scores: np.ndarray, per_fold: np.ndarray) -> np.ndarray:
        """0/1 labels of the test rows from their ``scores`` (the fold models' mean) and ``per_fold``, each
        fold model's own scores on the out-of-fold scale (one row per model).

        The cut's value is on each fold model's own scale (it called that model's held-out rows), not on
        their mean's, whose tails are thinner: the share of each model's test scores at or above it, averaged
        over the models, is the share it calls, and that share of the highest ``scores`` is called. A cut by
        value (``quantile``, ``max_normal``) always calls it: a 0.95 quantile calls 5% of fresh normal rows,
        not the fewer whose mean reaches the value. A labeled cut (:data:`LABELED_CUTS`)
        carries its out-of-fold share over (:meth:`apply`) unless the models' share is more than
        :data:`SHIFT` standard errors of a binomial draw away from it: a test set holding half as many
        anomalies as train.csv then gets about half the calls, not twice too many. ``contamination``:
        :meth:`apply`.
        """
        if not self.uses_folds:
            return self.apply(scores)
        share = float(np.mean(np.asarray(per_fold, dtype=float) >= self.value))
        if self.by == "value":
            return replace(self, rate=share, by="rate").apply(scores)
        rows = len(scores)
        if abs(share - self.rate) * rows <= SHIFT * np.sqrt(rows * self.rate * (1 - self.rate)):
            return self.apply(scores)
        return replace(self, rate=share).apply(scores)


def metric_cuts(scores: np.ndarray, y: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct score as a cut (rows at or above it called anomalous), highest first; each cut's
    ``metric`` (one of :data:`LABEL_METRICS`) and how many rows it calls.

    One sort: model selection asks for the best value of thousands of score vectors.
    """
    cuts, hits, called = labeled_cuts(scores, y, metric)
    return cuts, metrics.from_counts(metric, hits, called, hits[-1], called[-1]), called


def pu_cut(scores: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """The cut where recall² / (share of rows called) is highest, and how many rows it calls.

    Lee and Liu's (2003) measure for labels of positive and unlabeled rows: where the labeled anomalies are
    a random draw of all of them, it is precision × recall / prevalence, so it peaks near the F1 cut of
    every anomaly, labeled or not (a perfect ranking peaks at the true share), without knowing how many
    the unlabeled rows hide. The F1 of the labels alone counts those as normal and cuts far too few rows
    where the labels are few. Only cuts calling at least :data:`PU_LEAST` of the labeled anomalies count.
    """
    cuts, hits, called = labeled_cuts(scores, y, "pu")
    merit = np.where(hits >= np.ceil(PU_LEAST * hits[-1]), hits.astype(float) ** 2 / called, -1.0)
    best = int(np.argmax(merit))
    return float(cuts[best]), int(called[best])


def labeled_cuts(scores: np.ndarray, y: np.ndarray, strategy: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct score as a cut, highest first: the cut, the labeled anomalies at or above it, the rows."""
    y = np.asarray(y)
    if not y.any():
        raise MemdevError(f"threshold strategy {strategy!r} needs labeled anomalies; use quantile, contamination "
                          "or max_normal")
    # not a stable sort (1.6x faster on 30,000 rows): tied rows share one cut, so their order changes nothing
    order = np.argsort(-scores)
    ranked, hits = scores[order], np.cumsum(y[order] == 1)
    last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(ranked) - 1]  # each distinct score's last row
    return ranked[last], hits[last], last + 1


def choose(config: Config, scores: np.ndarray, y: np.ndarray) -> Threshold:
    """Pick the threshold named by the config's strategy from out-of-fold scores."""
    strategy = config.threshold_strategy
    cfg = config.threshold
    scores = np.asarray(scores, dtype=float)
    normal = scores[np.asarray(y) == 0]
    if strategy in LABEL_METRICS:
        cuts, values, called = metric_cuts(scores, y, strategy)
        best = len(values) - 1 - int(np.argmax(values[::-1]))  # of equal values, the lowest cut
        return Threshold(strategy, float(cuts[best]), called[best] / len(scores), "rate")
    if strategy == "pu":
        cut, called = pu_cut(scores, y)
        return Threshold("pu", cut, called / len(scores), "rate")
    if strategy == "contamination":
        value = float(np.quantile(scores, 1.0 - cfg.contamination))
        return Threshold("contamination", value, cfg.contamination, "rate")
    if strategy == "quantile":
        value = float(np.quantile(normal, cfg.quantile))
    elif strategy == "max_normal":
        value = float(normal.max() + cfg.margin * abs(normal.max()))
    else:
        raise MemdevError(f"unknown threshold strategy {strategy!r}")
    return Threshold(strategy, value, float(np.mean(scores >= value)), "value")
