"""Metrics that always put a model beside the base rate it must beat.

Accuracy alone flatters anomaly detectors: on data that is 89.2% normal,
calling every row normal is 89.2% accurate. Every report here shows the
base-rate accuracy, the lift over it, and a verdict in plain words that
judges the model by what chance gets on the competition's own metric.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as sk

from memdev.config import LABEL_METRICS

# the key of each competition metric in :func:`evaluate`'s values
KEYS = {"average_precision": "auc_pr", "roc_auc": "auc_roc"}


def evaluate(y: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None) -> dict[str, float]:
    """Every number the reports show, for true ``y``, ``scores`` and 0/1 ``labels``."""
    y = np.asarray(y).astype(int)
    scores = np.asarray(scores, dtype=float)
    prevalence = float(y.mean()) if len(y) else 0.0
    both = len(np.unique(y)) == 2
    out = {
        "rows": float(len(y)),
        "prevalence": prevalence,
        "auc_pr": float(sk.average_precision_score(y, scores)) if both else float("nan"),
        "auc_roc": float(sk.roc_auc_score(y, scores)) if both else float("nan"),
    }
    if labels is not None:
        labels = np.asarray(labels).astype(int)
        out.update(label_metrics(y, labels))
        out.update(base_rate_accuracy=1.0 - prevalence, accuracy_lift=out["accuracy"] - (1.0 - prevalence),
                   predicted_rate=float(labels.mean()) if len(labels) else 0.0)
    return out


def primary(metric: str, y: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None) -> float:
    """The competition's own metric (``average_precision`` and ``roc_auc`` use scores)."""
    if metric in LABEL_METRICS and labels is None:
        raise ValueError(f"metric {metric} needs 0/1 labels")
    # each metric alone: model selection calls this thousands of times
    y = np.asarray(y).astype(int)
    if metric in LABEL_METRICS:
        return label_metrics(y, labels)[metric]
    if len(np.unique(y)) < 2:
        return float("nan")
    return float((sk.average_precision_score if metric == "average_precision" else sk.roc_auc_score)(y, scores))


def label_metrics(y: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Precision, recall, F1, accuracy, balanced accuracy and MCC of 0/1 ``labels``, as scikit-learn's
    functions give them (``zero_division=0``; balanced accuracy NaN and MCC 0 on rows of one class).

    From the four confusion counts: scikit-learn's own functions validate and
    build a confusion matrix on every call (about 5 ms), and model selection
    scores thousands of label vectors per tuning trial.
    """
    y, labels = np.asarray(y) == 1, np.asarray(labels) == 1
    counts = np.count_nonzero(y & labels), np.count_nonzero(labels), np.count_nonzero(y), len(y)
    return {name: float(from_counts(name, *counts)) for name in LABELED}


LABELED = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc")  # :func:`label_metrics`' keys


def from_counts(metric: str, hits, called, positives: int, rows: int) -> np.ndarray:
    """``metric`` (one of :data:`LABELED`) of calls that catch ``hits`` of ``positives`` anomalies in
    ``called`` of ``rows`` rows, element by element: ``hits`` and ``called`` are numbers, or arrays of one
    per cut (only ``metric`` is computed: a cut sweep asks for thousands)."""
    tp, called = np.asarray(hits, dtype=float), np.asarray(called, dtype=float)
    if metric == "precision":
        return _ratio(tp, called)
    if metric == "recall":
        return _ratio(tp, np.full_like(tp, positives))
    if metric == "f1":
        return _ratio(2 * tp, positives + called)
    tn = rows - positives - called + tp  # rows neither anomalous nor called
    if metric == "accuracy":
        return _ratio(tp + tn, np.full_like(tp, rows))
    if not 0 < positives < rows:
        return np.full_like(tp, np.nan if metric == "balanced_accuracy" else 0.0)
    if metric == "balanced_accuracy":
        return (tp / positives + tn / (rows - positives)) / 2
    fp, fn = called - tp, positives - tp
    return _ratio(tp * tn - fp * fn, np.sqrt(called * positives * (rows - called) * (rows - positives)))


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """``top / bottom``, 0 where ``bottom`` is 0 (scikit-learn's ``zero_division=0``)."""
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom != 0)


def chance(metric: str, values: dict[str, float]) -> tuple[float, float, str]:
    """What a model without skill scores on ``metric``: ``(value, noise, how)``.

    ``noise`` is how far above that value a score must be to count: one
    standard error of the metric under chance where it has a simple form, 10%
    of the chance value for F1 and average precision.
    """
    p, n = values["prevalence"], max(values.get("rows", 1.0), 1.0)
    positives, negatives = max(p * n, 1.0), max((1.0 - p) * n, 1.0)
    if metric == "f1":
        level = 2 * p / (1 + p)
        return level, 0.1 * level, "calling every row anomalous"
    if metric == "average_precision":
        return p, 0.1 * p, "a random ranking (the prevalence)"
    if metric == "roc_auc":  # the Mann-Whitney statistic's spread under the null
        return 0.5, float(np.sqrt((positives + negatives + 1) / (12 * positives * negatives))), "a random ranking"
    if metric == "balanced_accuracy":
        return 0.5, 0.25 * float(np.sqrt(1 / positives + 1 / negatives)), "calling every row normal"
    if metric == "mcc":
        return 0.0, 1 / float(np.sqrt(n)), "random labels"
    base = 1.0 - p
    return base, float(np.sqrt(base * p / n)), "calling every row normal"


def verdict(values: dict[str, float], metric: str = "f1") -> str:
    """One line: is the model useful on the competition's own metric, and (with labels) its accuracy beside the base rate.

    Usefulness is judged against what chance gets on ``metric`` (:func:`chance`):
    at 1% prevalence, precision 0.45 and recall 0.90 give F1 0.60 where
    calling every row anomalous gets 0.02, though the accuracy is below the
    base rate's. The founders' line, accuracy against calling every row
    normal, follows whenever there are 0/1 labels.
    """
    if KEYS.get(metric, metric) not in values:  # a label metric without labels: judge the ranking
        metric = "average_precision"
    value = values[KEYS.get(metric, metric)]
    level, noise, how = chance(metric, values)
    if not np.isfinite(value):
        judged = f"no verdict: {metric} is undefined on rows of one class"
    elif value > level + noise:
        judged = f"beats chance on {metric}: {value:.3f} vs {level:.3f} for {how}"
        judged += f" ({value / level:.1f}x)" if level > 0 else ""
    else:
        within = f", within the noise (±{noise:.3f})" if value > level else ""
        judged = f"NO BETTER THAN CHANCE on {metric}: {value:.3f} vs {level:.3f} for {how}{within}"
    return judged + ("; " + accuracy_line(values) if "accuracy" in values else "")


def accuracy_line(values: dict[str, float]) -> str:
    """The accuracy beside the base rate (calling every row normal), with precision, recall and F1.

    A lift within one standard error of the base-rate accuracy is noise:
    "89.3% accurate" on 1000 rows that are 89.2% normal beats nothing.
    """
    base, lift = values["base_rate_accuracy"], values["accuracy_lift"]
    rows = int(values.get("rows", 0))
    noise = float(np.sqrt(base * (1.0 - base) / max(rows, 1)))
    if values["f1"] > 0 and lift > noise:
        judged = "beats the base rate"
    else:
        within = f": the lift is within the noise (±{noise:.3f}) of {rows} rows" if lift > 0 else ""
        judged = f"no better than the base rate{within}"
    return (f"accuracy {values['accuracy']:.3f} vs {base:.3f} for calling every row normal ({lift:+.3f}): {judged}; "
            f"precision {values['precision']:.3f}, recall {values['recall']:.3f}, F1 {values['f1']:.3f}")


ORDER = [
    ("precision", "precision"), ("recall", "recall"), ("f1", "F1"),
    ("accuracy", "accuracy"), ("base_rate_accuracy", "base-rate accuracy (all normal)"),
    ("accuracy_lift", "accuracy - base rate"), ("balanced_accuracy", "balanced accuracy"),
    ("mcc", "MCC"), ("auc_pr", "AUC-PR"), ("prevalence", "prevalence (AUC-PR of chance)"),
    ("auc_roc", "AUC-ROC"), ("predicted_rate", "share predicted anomalous"), ("rows", "rows"),
]


def table(columns: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one column per named set of metrics."""
    names = list(columns)
    width = max(len(label) for _, label in ORDER)
    lines = [f"{'':{width}}  " + "  ".join(f"{n:>10}" for n in names)]
    for key, label in ORDER:
        if any(key in columns[n] for n in names):
            cells = [columns[n].get(key, float("nan")) for n in names]
            lines.append(f"{label:{width}}  " + "  ".join(_cell(key, c) for c in cells))
    return "\n".join(lines)


def _cell(key: str, value: float) -> str:
    if key == "rows":
        return f"{int(value):>10d}"
    return f"{value:>10.4f}"
