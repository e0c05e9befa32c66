"""Which candidate (or rank ensemble) to submit, and an honest CV of that choice.

Picking the candidate and the comparator threshold on the out-of-fold scores
that are then reported flatters the pick. :func:`nested` measures the whole
selection procedure instead: for every fold k, the other folds' out-of-fold
scores choose the candidate, the ensemble weights and the cut, and fold k is
scored by them. The choice keeps :data:`PRIOR` (the blend) unless the best
candidate beats it by more than one standard error of their per-fold
differences (the one-standard-error rule); in the weak regime only a detector
that needs no labels may replace the blend (:func:`label_free_rival`): its CV
counts only the few labeled anomalies, as if the unlabeled ones were normal,
so it cannot see how a model ranks the anomalies the leaderboard counts (on
weak versions of the fully labeled practice sets, scored against their hidden
labels, every switch to a supervised candidate lost: BENCHMARKS-notes.md),
and the blend there leaves out a part far behind the others (:func:`weak_blend`).
It reuses the out-of-fold scores (no refits): the other folds' scores come
from fold models that saw fold k's rows, so on small weak sets the nested CV
may still be slightly optimistic. The submitted choice (:func:`select`) is the
same procedure run on all folds.

The ``ensemble`` candidate is Caruana et al.'s (2004) greedy ensemble
selection with replacement on the candidates' ranks. Its weights are fitted
on some folds and judged on another (leave one fold out), like every cut
here, so it is chosen only where it beats the best single candidate out of
sample.

Scores of different folds come from different fold models: everything here
works on ranks within a fold (:func:`fold_ranks`); a test row is ranked among
the out-of-fold scores (:func:`memdev.models.candidates.rank_mix`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata

from memdev.config import LABEL_METRICS, Config
from memdev.evaluation import metrics, threshold
from memdev.models.candidates import LABEL_FREE
from memdev.models.ranks import BLEND_PARTS
from memdev.training import folds as folds_io

ENSEMBLE = "ensemble"
STEPS = 10  # greedy additions at most: weights in tenths
DERIVED = ("blend", ENSEMBLE)  # made from other candidates' scores: never an ensemble member
# kept unless another candidate beats it clearly: with a few dozen labeled anomalies the best of
# eight or nine candidates on CV is often the luckiest, and keeping the blend raised nested CV (BENCHMARKS-notes.md)
PRIOR = "blend"
# the weak regime's blend leaves out a part behind the best one on ROC-AUC fold by fold by more than WEAK_SE standard
# errors and WEAK_GAP: on weak versions of 13 competitions it raised hidden-label AP where DevNet or CatBoost
# fitted 30 labels far worse than the others; with 100 labels and more, the floor keeps small gaps (BENCHMARKS-notes.md)
WEAK_SE, WEAK_GAP = 2.0, 0.05


def value(config: Config, y: np.ndarray, scores: np.ndarray) -> float:
    """The competition's metric on scores; labels, where it needs them, by the threshold chosen on these rows."""
    if config.threshold_strategy == config.metric:  # the best cut's value, without labelling
        return float(threshold.metric_cuts(np.asarray(scores, dtype=float), y, config.metric)[1].max())
    labels = threshold.choose(config, scores, y).apply(scores) if config.metric in LABEL_METRICS else None
    return metrics.primary(config.metric, y, scores, labels)


def fold_ranks(scores: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each row's rank among its own fold's rows, in (0, 1]."""
    out = np.zeros(len(scores))
    for k in range(folds_io.count(folds)):
        held = folds == k
        out[held] = rankdata(scores[held]) / max(int(held.sum()), 1)
    return out


@dataclass
class Choice:
    """A candidate, or ``ensemble`` with its weights over candidates."""

    model: str
    weights: dict[str, float] = field(default_factory=dict)

    def score(self, ranks: dict[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
        if self.model == ENSEMBLE:
            return sum(weight * ranks[name][rows] for name, weight in self.weights.items())
        return ranks[self.model][rows]


def greedy(config: Config, ranks: dict[str, np.ndarray], y: np.ndarray, rows: np.ndarray,
           members: list[str]) -> dict[str, float]:
    """Ensemble selection with replacement: add the member that helps ``rows`` most, until none helps."""
    counts = dict.fromkeys(members, 0)
    total, best = np.zeros(len(rows)), -np.inf
    for step in range(STEPS):
        gains = {name: value(config, y[rows], (total + ranks[name][rows]) / (step + 1)) for name in members}
        name = max(gains, key=gains.get)
        if step and gains[name] <= best:
            break
        best = gains[name]
        counts[name] += 1
        total += ranks[name][rows]
    used = sum(counts.values())
    return {name: n / used for name, n in counts.items() if n}


def fit(config: Config, name: str, ranks: dict[str, np.ndarray], y: np.ndarray, rows: np.ndarray) -> Choice:
    """The procedure ``name`` fitted on ``rows`` (only the ensemble has something to fit)."""
    if name != ENSEMBLE:
        return Choice(name)
    return Choice(ENSEMBLE, greedy(config, ranks, y, rows, [n for n in ranks if n not in DERIVED]))


def apply(config: Config, choice: Choice, ranks: dict[str, np.ndarray], y: np.ndarray, fit_rows: np.ndarray,
          rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``choice``'s scores of ``rows``, and their 0/1 labels by the cut chosen on ``fit_rows``."""
    scores = choice.score(ranks, rows)
    cut = threshold.choose(config, choice.score(ranks, fit_rows), y[fit_rows])
    return scores, cut.apply(scores)


Scored = tuple[np.ndarray, np.ndarray | None]  # every row's scores, and 0/1 labels where the metric needs them


def held_out(config: Config, name: str, ranks: dict[str, np.ndarray], y: np.ndarray, folds: np.ndarray,
             within: list[int]) -> Scored:
    """Procedure ``name`` on the rows of the folds ``within``, each fold scored (and cut) by what the others
    fitted; other rows are left at zero.

    A single candidate on a metric of scores fits nothing: its scores are its ranks.
    """
    rows = np.flatnonzero(np.isin(folds, within))
    needs_labels = config.metric in LABEL_METRICS
    scores, labels = np.zeros(len(y)), np.zeros(len(y), dtype=np.int8)
    if len(within) < 2 or (name != ENSEMBLE and not needs_labels):
        scores[rows], labels[rows] = apply(config, fit(config, name, ranks, y, rows), ranks, y, rows, rows) \
            if needs_labels else (ranks[name][rows], 0)
    else:
        for j in within:
            fit_rows = np.flatnonzero(np.isin(folds, [f for f in within if f != j]))
            held = np.flatnonzero(folds == j)
            scores[held], labels[held] = apply(config, fit(config, name, ranks, y, fit_rows), ranks, y, fit_rows, held)
    return scores, labels if needs_labels else None


def metric_of(config: Config, y: np.ndarray, scored: Scored, rows: np.ndarray) -> float:
    scores, labels = scored
    return metrics.primary(config.metric, y[rows], scores[rows], None if labels is None else labels[rows])


def clearly_better(config: Config, y: np.ndarray, folds: np.ndarray, within: list[int], mine: Scored,
                   theirs: Scored) -> bool:
    """Whether ``mine`` beats ``theirs`` fold by fold by more than one standard error of the differences."""
    return clear_gain([metric_of(config, y, mine, rows) - metric_of(config, y, theirs, rows)
                       for rows in (np.flatnonzero(folds == j) for j in within) if y[rows].any()])


def clear_gain(gains) -> bool:
    """Whether per-fold gains are above zero by more than one standard error of their mean."""
    mean, error = mean_gain(gains)
    return mean > error  # False with fewer than two finite gains (NaN)


def mean_gain(gains) -> tuple[float, float]:
    """The mean of the finite per-fold gains and its standard error (NaN and NaN with fewer than two)."""
    gains = np.asarray(gains, dtype=float)
    gains = gains[np.isfinite(gains)]
    if len(gains) < 2:
        return float("nan"), float("nan")
    return float(gains.mean()), float(gains.std(ddof=1) / np.sqrt(len(gains)))


def choose(config: Config, ranks: dict[str, np.ndarray], y: np.ndarray, folds: np.ndarray,
           within: list[int], ensemble: bool = True, prior: str | None = PRIOR) -> tuple[Choice, dict[str, float]]:
    """The procedure with the best honest value on ``within`` (:func:`held_out`), fitted on all of it, and
    every value.

    ``prior`` stays unless the best beats it clearly (:func:`clearly_better`). ``ensemble=False``
    leaves the ensemble out of the menu, ``prior=None`` lets the best CV win (to measure what each adds).
    """
    menu = [n for n in ranks if n != ENSEMBLE]
    members = [n for n in ranks if n not in DERIVED]
    if ensemble and config.stacking != "on" and len(members) >= 2 and len(within) >= 2:
        menu.append(ENSEMBLE)
    rows = np.flatnonzero(np.isin(folds, within))
    scored = {name: held_out(config, name, ranks, y, folds, within) for name in menu}
    values = {name: metric_of(config, y, scored[name], rows) for name in menu}
    if config.stacking == "on" and "stack" in values:
        best = "stack"
    elif config.regime == "weak" and prior in values:
        best = label_free_rival(config, y, folds, within, values, scored, prior)
        if best is None:
            return weak_blend(ranks, y, folds, within), values
    else:
        best = max(values, key=values.get)
        if prior in values and not clearly_better(config, y, folds, within, scored[best], scored[prior]):
            best = prior
    return fit(config, best, ranks, y, rows), values


def label_free_rival(config: Config, y: np.ndarray, folds: np.ndarray, within: list[int], values: dict[str, float],
                     scored: dict[str, Scored], prior: str) -> str | None:
    """The weak regime's one way past the blend: a detector that needs no labels, ahead of it on the metric and
    clearly ahead on ROC-AUC, fold by fold.

    A CV of a few labeled anomalies, the others counted as normal, cannot tell the supervised candidates apart
    (switching to one on it lost on every weak version of a practice set: BENCHMARKS-notes.md); a detector that
    needs no labels can still be far ahead where anomalies are local outliers (issue 15's LOF). With six labeled
    anomalies a fold, one lucky row moves a fold's average precision tenfold; ROC-AUC counts where every labeled
    anomaly ranks, and where the labeled anomalies are a random draw of all of them it still rises with the
    ROC-AUC on every anomaly.
    """
    rivals = [name for name in LABEL_FREE if name in values and values[name] > values[prior]]
    if not rivals:
        return None
    best = max(rivals, key=values.get)
    auc = config.with_params({"metric": "roc_auc"})
    return best if clearly_better(auc, y, folds, within, scored[best], scored[prior]) else None


def weak_blend(ranks: dict[str, np.ndarray], y: np.ndarray, folds: np.ndarray, within: list[int]) -> Choice:
    """The weak regime's blend on the folds ``within``, less the parts clearly behind: the equal-weight
    ``ensemble`` of the rest (at least two), or ``blend`` itself.

    A part is behind where its ROC-AUC trails the best part's fold by fold by
    more than :data:`WEAK_SE` standard errors and :data:`WEAK_GAP`. ROC-AUC,
    not the metric: the few labeled anomalies still rank models as every
    anomaly would (:func:`label_free_rival`).
    """
    parts = [name for name in BLEND_PARTS if name in ranks]
    rows = [held for held in (np.flatnonzero(folds == j) for j in within) if 0 < y[held].sum() < len(held)]
    if len(parts) < 3 or len(rows) < 2:  # at least two parts stay
        return Choice(PRIOR)
    auc = {name: np.array([metrics.primary("roc_auc", y[held], ranks[name][held]) for held in rows]) for name in parts}
    best = max(parts, key=lambda name: auc[name].mean())
    gaps = {name: mean_gain(auc[best] - auc[name]) for name in parts if name != best}
    behind = sorted((name for name, (gap, error) in gaps.items() if gap > max(WEAK_SE * error, WEAK_GAP)),
                    key=lambda name: -gaps[name][0])[:len(parts) - 2]
    if not behind:
        return Choice(PRIOR)
    kept = [name for name in parts if name not in behind]
    return Choice(ENSEMBLE, dict.fromkeys(kept, 1 / len(kept)))


def select(config: Config, y: np.ndarray, folds: np.ndarray,
           oof: dict[str, np.ndarray]) -> tuple[Choice, dict[str, float], np.ndarray]:
    """The submitted choice (on all folds), every candidate's value, and the choice's out-of-fold scores."""
    ranks = {name: fold_ranks(scores, folds) for name, scores in oof.items()}
    choice, values = choose(config, ranks, y, folds, list(range(folds_io.count(folds))))
    return choice, values, choice.score(ranks, np.arange(len(y)))


def ceiling(config: Config, y: np.ndarray, folds: np.ndarray) -> float | None:
    """The best nested CV (:func:`nested`) any scores could get where the threshold calls a fixed share of
    each fold's rows (``contamination``): a perfect ranking's, the anomalies called first. None where the
    threshold or the metric depends on the scores.

    Every metric of labels here rises with the anomalies called at a fixed
    number of rows called, so no ranking gets more than this.
    """
    if config.threshold_strategy != "contamination" or config.metric not in LABEL_METRICS:
        return None
    perfect = np.asarray(y, dtype=float)
    labels = np.zeros(len(y), dtype=np.int8)
    for k in range(folds_io.count(folds)):
        held = folds == k
        labels[held] = threshold.choose(config, perfect[~held], y[~held]).apply(perfect[held])
    return metrics.primary(config.metric, y, perfect, labels)


@dataclass
class Nested:
    """The outer CV of the selection procedure: pooled, per fold, and what each fold's selection chose."""

    value: float
    per_fold: list[float | None]
    chosen: list[str]
    metrics: dict[str, float]


def nested(config: Config, y: np.ndarray, folds: np.ndarray, oof: dict[str, np.ndarray],
           ensemble: bool = True, prior: str | None = PRIOR) -> Nested:
    """For every fold k: choose on the other folds (:func:`choose`), apply to fold k; the metric of all that."""
    ranks = {name: fold_ranks(scores, folds) for name, scores in oof.items()}
    count = folds_io.count(folds)
    scores, labels = np.zeros(len(y)), np.zeros(len(y), dtype=np.int8)
    per_fold, chosen = [], []
    for k in range(count):
        choice, _ = choose(config, ranks, y, folds, [f for f in range(count) if f != k], ensemble, prior)
        held, fit_rows = np.flatnonzero(folds == k), np.flatnonzero(folds != k)
        scores[held], labels[held] = apply(config, choice, ranks, y, fit_rows, held)
        per_fold.append(metrics.primary(config.metric, y[held], scores[held], labels[held]) if y[held].any() else None)
        chosen.append(choice.model)
    return Nested(metrics.primary(config.metric, y, scores, labels), per_fold, chosen,
                  metrics.evaluate(y, scores, labels))
