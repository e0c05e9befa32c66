"""Metrics that always put a model beside the base rate it must beat.

Accuracy alone flatters anomaly detectors: on data that is 89.2% normal,
calling every row normal is 89.2% accurate. Every report here shows the
base-rate accuracy, the lift over it, and a verdict in plain words.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as sk

PRIMARY_NEEDS_LABELS = ("f1", "accuracy", "mcc", "balanced_accuracy")


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
        accuracy = float(sk.accuracy_score(y, labels))
        base = 1.0 - prevalence
        out.update(
            precision=float(sk.precision_score(y, labels, zero_division=0)),
            recall=float(sk.recall_score(y, labels, zero_division=0)),
            f1=float(sk.f1_score(y, labels, zero_division=0)),
            accuracy=accuracy,
            base_rate_accuracy=base,
            accuracy_lift=accuracy - base,
            balanced_accuracy=float(sk.balanced_accuracy_score(y, labels)) if both else float("nan"),
            mcc=float(sk.matthews_corrcoef(y, labels)) if both else 0.0,
            predicted_rate=float(labels.mean()),
        )
    return out


def primary(metric: str, y: np.ndarray, scores: np.ndarray, labels: np.ndarray | None = None) -> float:
    """The competition's own metric (``average_precision`` and ``roc_auc`` use scores)."""
    if metric in PRIMARY_NEEDS_LABELS and labels is None:
        raise ValueError(f"metric {metric} needs 0/1 labels")
    # the common metrics directly: model selection calls this thousands of times
    y = np.asarray(y).astype(int)
    if metric in ("average_precision", "roc_auc"):
        if len(np.unique(y)) < 2:
            return float("nan")
        return float((sk.average_precision_score if metric == "average_precision" else sk.roc_auc_score)(y, scores))
    if metric == "f1":
        return float(sk.f1_score(y, np.asarray(labels).astype(int), zero_division=0))
    values = evaluate(y, scores, labels)
    return values[{"average_precision": "auc_pr", "roc_auc": "auc_roc"}.get(metric, metric)]


def verdict(values: dict[str, float], metric: str = "f1") -> str:
    """One line that says plainly whether the model beats calling everything normal.

    Judged on the 0/1 labels when the competition scores labels, and on the
    ranking (AUC-PR against the prevalence) when it scores ``metric`` on scores.
    """
    prevalence = values["prevalence"]
    if "accuracy" in values and metric in PRIMARY_NEEDS_LABELS:
        lift = values["accuracy_lift"]
        base = values["base_rate_accuracy"]
        # a lift within one standard error of the base-rate accuracy is noise:
        # "89.3% accurate" on 1000 rows that are 89.2% normal beats nothing
        noise = float(np.sqrt(base * (1.0 - base) / max(values.get("rows", 1.0), 1.0)))
        if values["f1"] == 0.0 or lift <= noise:
            within = f"; a lift of {lift:+.3f} is within the noise (±{noise:.3f}) of {int(values.get('rows', 0))} rows" if lift > 0 else ""
            return (
                f"NO BETTER THAN THE BASE RATE: accuracy {values['accuracy']:.3f} vs {base:.3f} "
                f"for calling every row normal; F1 {values['f1']:.3f}{within}"
            )
        return (
            f"beats the base rate: accuracy {values['accuracy']:.3f} vs {values['base_rate_accuracy']:.3f} "
            f"(+{lift:.3f}); precision {values['precision']:.3f}, recall {values['recall']:.3f}, F1 {values['f1']:.3f}"
        )
    auc_pr = values["auc_pr"]
    if not auc_pr > prevalence * 1.1:
        return f"NO BETTER THAN CHANCE: AUC-PR {auc_pr:.3f} vs prevalence {prevalence:.3f}"
    return f"beats chance: AUC-PR {auc_pr:.3f} vs prevalence {prevalence:.3f} ({auc_pr / max(prevalence, 1e-12):.1f}x)"


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
