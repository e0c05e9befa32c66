"""The main report page: ``report.md`` and its figures under ``data/<slug>/reports/``.

Reads what ``make train`` wrote (``cv.json`` as a :class:`CVSummary`, the
out-of-fold scores) and changes none of it. The page holds the out-of-fold
metrics table beside the base rate, the candidates' CV values, and figures of
the chosen model's scores: precision-recall curve, F1 against threshold,
score histogram, CV-fold spread, and the MemAE's per-sample reconstruction
error. Without labels only the score histogram and the loss plot are drawn,
each with the threshold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from memdev.config import LABEL_METRICS, Config
from memdev.evaluation import metrics, threshold
from memdev.evaluation.threshold import LABELED_CUTS
from memdev.paths import Paths
from memdev.reporting import plots
from memdev.reporting.plots import COLORS
from memdev.training import folds, stamps
from memdev.training.summary import CVSummary, load_oof

FIGURES = {
    "pr_curve.png": "Precision-recall curve of the out-of-fold scores",
    "f1_threshold.png": "F1, precision and recall against the comparator threshold",
    "score_histogram.png": "Histogram of the out-of-fold scores with the threshold",
    "cv_folds.png": "CV metric per fold",
    "memae_loss.png": "Per-sample MemAE reconstruction error",
}


def run(config: Config, paths: Paths) -> list[Path]:
    """Write ``report.md`` and its figures; return the paths written."""
    stamps.check(config, paths, "report")
    summary = CVSummary.load(paths)
    oof = load_oof(paths, needed=(summary.model,))
    written: list[Path] = []
    captions = draw(summary, oof, paths.reports, written)
    plots.write("report", paths.reports / "report.md", page(paths, summary, oof, captions), written)
    plots.remove_stale("report", paths.reports, FIGURES, written)
    return written


def _labeled(summary: CVSummary, y: np.ndarray) -> bool:
    return summary.labeled and len(np.unique(y)) == 2


# ---------------------------------------------------------------- the page


def page(paths: Paths, summary: CVSummary, oof: pd.DataFrame, captions: dict[str, str]) -> str:
    """``report.md``: the CV summary, the metrics table, the candidates, and the figures ``captions`` names."""
    chosen, metric, cut = summary.model, summary.metric, summary.threshold
    y = oof["y"].to_numpy(dtype=int)
    labeled = _labeled(summary, y)
    lines = [
        f"# memdev report: {paths.slug}",
        "",
        f"Regime `{summary.regime}`, metric `{metric}`, {len(y)} training rows, "
        f"{folds.count(oof['fold'].to_numpy())}-fold cross-validation. Chosen model: **{chosen}**"
        + (f", nested CV {metric} = **{summary.value:.4f}**" + (
            f" (optimistic: {summary.optimistic:.4f})." if summary.optimistic is not None else ".")
           if summary.labeled else " (no labels: no CV metric)."),
        "",
        f"Comparator threshold: strategy `{cut.strategy}`, {cut.value:.6g} on the out-of-fold score scale, "
        f"calling {cut.rate:.2%} of training rows anomalous; it transfers to the test set by "
        + ("share of rows (rate), or by the share the fold models' own test scores reach where that is clearly "
           "another." if cut.strategy in LABELED_CUTS
           else "the share of test rows the fold models' own scores reach with that value." if cut.by == "value"
           else "share of rows (rate)."),
        "",
        "## Out-of-fold metrics",
        "",
    ]
    if labeled and summary.metrics:
        lines += ["```text", metrics.table({"nested CV": summary.metrics}),
                  "", "verdict: " + metrics.verdict(summary.metrics, metric), "```", ""]
    else:
        lines += [f"No labels in regime `{summary.regime}`: no metrics table, no CV metric and no verdict "
                  "against the base rate; the threshold comes from the strategy above, not from labels.", ""]
    lines += ["## Candidates", ""]
    if summary.candidates:
        lines += [f"| candidate | CV {metric} | |", "|---|---:|---|"]
        for name, value in sorted(summary.candidates.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {name} | {value:.4f} | {'**chosen**' if name == chosen else ''} |")
    else:
        lines.append(f"Only `{chosen}` (the MemAE reconstruction error) can score rows without labels.")
    lines += ["", "## Figures", ""]
    if not labeled:
        lines += ["Without labels the precision-recall curve, F1 against threshold and CV-fold spread "
                  "are skipped: each needs labeled anomalies. The score histogram and the per-sample loss "
                  "plot below show where the threshold falls.", ""]
    for name, caption in captions.items():
        lines += plots.figure_section(name, FIGURES[name], caption)
    return "\n".join(lines)


# ---------------------------------------------------------------- the figures


def draw(summary: CVSummary, oof: pd.DataFrame, out: Path, written: list[Path]) -> dict[str, str]:
    """Draw every figure the scores allow into ``out``; return the caption of each drawn, in page order."""
    chosen, metric = summary.model, summary.metric
    y = oof["y"].to_numpy(dtype=int)
    scores = oof[chosen].to_numpy(dtype=float)
    labeled = _labeled(summary, y)
    captions = {}
    if labeled:
        _pr_curve(oof, summary, out / "pr_curve.png", written)
        captions["pr_curve.png"] = (
            f"Precision against recall of the `{chosen}` out-of-fold scores (thin lines: the other candidates); "
            "the grey line is chance, a precision equal to the prevalence; the dot is the chosen threshold's "
            "operating point.")
        _f1_threshold(y, scores, summary, out / "f1_threshold.png", written)
        captions["f1_threshold.png"] = (
            f"F1 (with precision and recall"
            + (f"; and {metric}, the competition's metric, whose best cut is chosen"
               if metric in LABEL_METRICS and metric != "f1" else "")
            + f") of calling rows with a `{chosen}` score at or above each threshold anomalous; the vertical line "
            "is the chosen threshold.")
    _histogram(y, scores, summary, labeled, out / "score_histogram.png", written)
    captions["score_histogram.png"] = (
        f"`{chosen}` out-of-fold scores of normal and anomalous rows, with the threshold." if labeled
        else f"`{chosen}` out-of-fold scores of all rows (no labels), with the threshold.")
    if labeled and summary.per_fold:
        _fold_spread(summary, out / "cv_folds.png", written)
        captions["cv_folds.png"] = f"Nested CV {metric} of each held-out fold, their mean, and the nested CV of all folds."
    if "memae" in oof.columns:
        captions["memae_loss.png"] = _loss_plot(oof, summary, labeled, out / "memae_loss.png", written)
    return captions


def _pr_curve(oof: pd.DataFrame, summary: CVSummary, path: Path, written: list[Path]) -> None:
    chosen = summary.model
    y = oof["y"].to_numpy(dtype=int)
    prevalence = float(y.mean())
    figure, axes = plots.figure(f"Precision-recall, out of fold: {chosen}", "recall", "precision")
    # the other candidates as thin lines, in the order finetune scored them
    for name in [c for c in oof.columns if c not in ("fold", "y", chosen)]:
        precision, recall, _ = precision_recall_curve(y, oof[name].to_numpy(dtype=float))
        ap = metrics.evaluate(y, oof[name].to_numpy(dtype=float))["auc_pr"]
        axes.plot(recall, precision, lw=1, alpha=0.55, drawstyle="steps-post", label=f"{name} (AUC-PR {ap:.3f})")
    precision, recall, _ = precision_recall_curve(y, oof[chosen].to_numpy(dtype=float))
    ap = metrics.evaluate(y, oof[chosen].to_numpy(dtype=float))["auc_pr"]
    axes.plot(recall, precision, lw=2.4, color="black", drawstyle="steps-post",
              label=f"{chosen}, chosen (AUC-PR {ap:.3f})")
    axes.axhline(prevalence, color=COLORS["chance"], ls="--", lw=1.5, label=f"chance = prevalence ({prevalence:.3f})")
    values = summary.metrics
    if "precision" in values and "recall" in values:
        axes.plot([values["recall"]], [values["precision"]], "o", ms=9, color=COLORS["anomalous"], zorder=5,
                  label=f"threshold: P {values['precision']:.3f}, R {values['recall']:.3f}")
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(0, 1.05)
    plots.legend(axes)
    plots.save("report", path, figure, written)


def _f1_threshold(y: np.ndarray, scores: np.ndarray, summary: CVSummary, path: Path, written: list[Path]) -> None:
    """F1, precision and recall against the threshold, and the competition's own metric of labels where it is
    another (its best cut is where the chosen threshold lies)."""
    cut = summary.threshold
    cuts, hits, called = threshold.labeled_cuts(scores, y, "f1")  # one sort for every curve

    def curve(name: str) -> np.ndarray:
        return metrics.from_counts(name, hits, called, hits[-1], called[-1])

    f1 = curve("f1")
    low, high, clipped = plots.view(scores, cut.value)
    shown = (cuts >= low) & (cuts <= high)
    xlabel = f"threshold on the {summary.model} score (rows at or above it are called anomalous)"
    if clipped:
        xlabel += f"\n{clipped} extreme scores lie outside the shown range"
    own = summary.metric if summary.metric in LABEL_METRICS and summary.metric != "f1" else None
    figure, axes = plots.figure(f"{own or 'F1'} against threshold, out of fold: {summary.model}", xlabel,
                                "precision, recall, F1" + (f", {own}" if own else ""))
    axes.plot(cuts[shown], curve("precision")[shown], lw=1, alpha=0.7, color="tab:green", label="precision")
    axes.plot(cuts[shown], curve("recall")[shown], lw=1, alpha=0.7, color="tab:orange", label="recall")
    axes.plot(cuts[shown], f1[shown], lw=2.2, color="tab:purple", label=f"F1 (best {f1.max():.3f})")
    judged, name = (curve(own), own) if own else (f1, "F1")
    if own:
        axes.plot(cuts[shown], judged[shown], lw=2.2, color="black", label=f"{own} (best {judged.max():.3f})")
    at = float(judged[np.argmin(np.abs(cuts - cut.value))]) if len(cuts) else float("nan")
    axes.axvline(cut.value, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"chosen threshold ({cut.strategy}) = {cut.value:.4g}, {name} {at:.3f}")
    axes.set_xlim(low, high)
    axes.set_ylim(min(0.0, float(np.min(judged[shown], initial=0.0))), 1.05)  # MCC can fall below 0
    plots.legend(axes)
    plots.save("report", path, figure, written)


def _histogram(y: np.ndarray, scores: np.ndarray, summary: CVSummary, labeled: bool, path: Path,
               written: list[Path]) -> None:
    cut = summary.threshold
    low, high, clipped = plots.view(scores, cut.value)
    bins = np.linspace(low, high, 61)
    shown = np.clip(scores, low, high)
    xlabel = f"{summary.model} out-of-fold score"
    if clipped:
        xlabel += f" ({clipped} extreme values piled into the edge bins)"
    title = f"Out-of-fold {summary.model} scores" + (": normal vs anomalous" if labeled else " (no labels)")
    figure, axes = plots.figure(title, xlabel, "rows")
    if labeled:
        groups = [("normal (y = 0)", shown[y == 0], COLORS["normal"]),
                  ("anomalous (y = 1)", shown[y == 1], COLORS["anomalous"])]
    else:
        groups = [("all rows (unlabeled)", shown, COLORS["normal"])]
    counts = []
    for label, values, color in groups:
        n, _, _ = axes.hist(values, bins=bins, color=color, alpha=0.55, label=f"{label}: {len(values)} rows")
        counts.append(n)
    positive = np.concatenate(counts)
    positive = positive[positive > 0]
    # log scale when the tallest bar would flatten the rest (imbalance, spikes at 0)
    if len(positive) and positive.max() / positive.min() > 50:
        axes.set_yscale("log")
        axes.set_ylabel("rows (log scale)")
    axes.axvline(cut.value, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"threshold ({cut.strategy}) = {cut.value:.4g}: {cut.rate:.1%} called anomalous")
    axes.set_xlim(low, high)
    plots.legend(axes)
    plots.save("report", path, figure, written)


def _fold_spread(summary: CVSummary, path: Path, written: list[Path]) -> None:
    metric, per_fold = summary.metric, summary.per_fold
    scored = [k + 1 for k, v in enumerate(per_fold) if v is not None]
    values = np.array([v for v in per_fold if v is not None], dtype=float)
    mean, std = float(values.mean()), float(values.std())
    missing = len(per_fold) - len(scored)
    xlabel = "held-out fold" + (f" ({missing} fold(s) without anomalies not scored)" if missing else "")
    figure, axes = plots.figure(f"CV {metric} per fold: mean {mean:.4f}, std {std:.4f}", xlabel,
                                f"{metric} of the held-out fold")
    axes.plot(scored, values, "o", ms=9, color=COLORS["normal"], label=f"{summary.model} on each fold")
    for fold, value in zip(scored, values):
        axes.annotate(f"{value:.3f}", (fold, value), textcoords="offset points", xytext=(0, 8),
                      ha="center", fontsize="small")
    axes.axhline(mean, color="black", lw=1.5, label=f"mean of folds {mean:.4f}")
    axes.axhspan(mean - std, mean + std, color="gray", alpha=0.15, label=f"mean ± std ({std:.4f})")
    axes.axhline(summary.value, color="tab:purple", ls=":", lw=1.5, label=f"nested CV, all folds {summary.value:.4f}")
    spread = max(float(values.max() - values.min()), std, 0.01)
    top = float(values.max()) + 1.2 * spread
    if values.max() <= 1.0:  # every metric here is at most 1: leave just room for the labels
        top = min(top, 1.0 + 0.3 * spread)
    axes.set_ylim(max(0.0, float(values.min()) - 1.5 * spread), top)
    axes.set_xticks(range(1, len(per_fold) + 1))
    plots.legend(axes)
    plots.save("report", path, figure, written)


def _loss_plot(oof: pd.DataFrame, summary: CVSummary, labeled: bool, path: Path, written: list[Path]) -> str:
    """Row index against the MemAE reconstruction error; returns the figure's caption."""
    error = oof["memae"].to_numpy(dtype=float)
    y = oof["y"].to_numpy(dtype=int)
    rows = np.arange(len(error))
    if summary.model == "memae":
        cut = float(summary.threshold.value)
        cut_label = f"threshold ({summary.threshold.strategy}) = {cut:.4g}"
        note = "the chosen model's threshold"
    else:
        cut = float(np.quantile(error[y == 0], 0.99))
        cut_label = f"99th percentile of normal rows' errors = {cut:.4g}"
        note = f"the 99th percentile of normal rows' errors (the chosen model is `{summary.model}`, not `memae`)"
    figure, axes = plots.figure("Per-sample MemAE reconstruction error, out of fold",
                                "training row (index in train.csv)", "reconstruction error (MSE)", size=(9, 4.6))
    size = 10 if len(error) <= 5000 else 3
    if labeled:
        groups = [(y == 0, COLORS["normal"], f"normal (y = 0): {int(np.sum(y == 0))} rows"),
                  (y == 1, COLORS["anomalous"], f"anomalous (y = 1): {int(np.sum(y == 1))} rows")]
    else:
        above = error >= cut
        groups = [(~above, COLORS["normal"], f"unlabeled, below threshold: {int(np.sum(~above))} rows"),
                  (above, COLORS["anomalous"], f"unlabeled, at or above threshold: {int(np.sum(above))} rows")]
    for mask, color, label in groups:
        axes.scatter(rows[mask], error[mask], s=size, color=color, alpha=0.6, lw=0, label=label, rasterized=True)
    axes.axhline(cut, color=COLORS["threshold"], ls="--", lw=1.5, label=cut_label)
    if plots.skewed(error):
        axes.set_yscale("log")
        axes.set_ylabel("reconstruction error (MSE, log scale)")
    axes.set_xlim(-0.01 * len(rows), 1.01 * len(rows))
    plots.legend(axes, 3, markerscale=3 if size < 10 else 2)
    plots.save("report", path, figure, written)
    share = float(np.mean(error >= cut))
    return (f"The MemAE's out-of-fold reconstruction error of every training row; the dashed line is {note}, "
            f"at or above which lie {share:.1%} of rows"
            + (f" ({float(np.mean(error[y == 1] >= cut)):.1%} of the anomalous ones)." if labeled else "."))
