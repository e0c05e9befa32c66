"""The report stage: Markdown pages and figures under ``data/<slug>/reports/``.

``report.md``
    the out-of-fold metrics table beside the base rate, the candidates' CV
    values, and figures of the chosen model's scores: precision-recall curve,
    F1 against threshold, score histogram, CV-fold spread, and the MemAE's
    per-sample reconstruction error. Without labels only the score histogram
    and the loss plot are drawn, each with the threshold.
``leaderboard.md`` and ``cv_vs_lb.png``
    the competition's submissions from ``submissions/ledger.csv``, how CV and
    public score agree, and the two final selections.
``index.md``
    links to every page and figure there is: the studies of
    :mod:`memdev.studies` and the Optuna plots of ``make tune`` included.

Every file is written through :mod:`memdev.atomic`; the report reads only
what the other stages wrote and changes none of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve

from . import atomic, ledger, metrics
from .config import Config
from .errors import MemdevError
from .paths import Paths

# within this distance of the best public score a submission counts as "on top of the LB"
PUBLIC_WINDOW = 0.005

FIGURES = {
    "pr_curve.png": "Precision-recall curve of the out-of-fold scores",
    "f1_threshold.png": "F1, precision and recall against the comparator threshold",
    "score_histogram.png": "Histogram of the out-of-fold scores with the threshold",
    "cv_folds.png": "CV metric per fold",
    "memae_loss.png": "Per-sample MemAE reconstruction error",
    "cv_vs_lb.png": "CV against public leaderboard score",
}
TUNE_PLOTS = {
    "tune_history.png": "Optuna optimization history",
    "tune_importances.png": "Optuna parameter importances",
    "tune_slice_memory_size.png": "Optuna slice plot of the memory size",
}
LABELED_ONLY = ("pr_curve.png", "f1_threshold.png", "cv_folds.png")

COLORS = {"normal": "tab:blue", "anomalous": "tab:red", "threshold": "black", "chance": "tab:gray"}


def run(config: Config, paths: Paths) -> Path:
    """Write every report page and figure of ``paths.slug``; return the index page's path."""
    cv, oof = _load(paths)
    written: list[Path] = []
    _main_report(config, paths, cv, oof, written)
    _leaderboard(config, paths, written)
    for name in FIGURES:  # a figure this run did not draw would describe an older model
        stale = paths.reports / name
        if stale.exists() and stale not in written:
            stale.unlink()
            print(f"report: removed stale {stale}")
    index = paths.reports / "index.md"
    _write(index, _index(config, paths, written), written)
    return index


# ---------------------------------------------------------------- inputs


def _load(paths: Paths) -> tuple[dict, pd.DataFrame]:
    if not paths.cv.exists():
        raise MemdevError(f"{paths.cv}: no CV results; run `make train COMP={paths.slug}` first")
    try:
        cv = json.loads(paths.cv.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MemdevError(f"{paths.cv}: not valid JSON ({exc})") from None
    for key in ("model", "metric", "value", "regime", "threshold"):
        if key not in cv:
            raise MemdevError(f"{paths.cv}: has no {key!r}; run `make train COMP={paths.slug}` again")
    if not paths.oof.exists():
        raise MemdevError(f"{paths.oof}: no out-of-fold scores; run `make train COMP={paths.slug}` first")
    oof = pd.read_parquet(paths.oof)
    for column in ("fold", "y", cv["model"]):
        if column not in oof.columns:
            raise MemdevError(f"{paths.oof}: has no column {column!r} (columns: {', '.join(oof.columns)})")
    return cv, oof


def _labeled(cv: dict, y: np.ndarray) -> bool:
    return cv["value"] is not None and len(np.unique(y)) == 2


# ---------------------------------------------------------------- writing


def _write(path: Path, text: str, written: list[Path]) -> None:
    atomic.write_text(path, text)
    written.append(path)
    print(f"report: wrote {path}")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path, written: list[Path]) -> None:
    """Save ``figure`` atomically as PNG and close it."""
    plt = _pyplot()
    try:
        with atomic.atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=110)
    finally:
        plt.close(figure)
    written.append(path)
    print(f"report: wrote {path}")


def _figure(title: str, xlabel: str, ylabel: str, size=(7.5, 4.6)):
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=size, layout="constrained")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def _legend(axes, columns: int = 2, **kwargs) -> None:
    """The legend below the axes, outside them, where it hides no data."""
    handles, labels = axes.get_legend_handles_labels()
    axes.get_figure().legend(handles, labels, loc="outside lower center", ncol=columns, fontsize="small",
                             frameon=False, **kwargs)


def _view(values: np.ndarray, *marks: float) -> tuple[float, float, int]:
    """An x range that shows the bulk of ``values`` and every mark.

    Scores such as DevNet's deviations can have a few values thousands of
    times beyond the rest; those are clipped to the 0.5-99.5% range (and the
    count of clipped values returned) so the bulk stays readable.
    """
    values = np.asarray(values, dtype=float)
    low, high = float(values.min()), float(values.max())
    q_low, q_high = (float(q) for q in np.quantile(values, [0.005, 0.995]))
    if q_high > q_low and high - low > 4 * (q_high - q_low):
        low, high = q_low, q_high
    low, high = min([low, *marks]), max([high, *marks])
    if high <= low:
        low, high = low - 0.5, high + 0.5
    clipped = int(np.sum((values < low) | (values > high)))
    pad = 0.02 * (high - low)
    return low - pad, high + pad, clipped


def _fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


# ---------------------------------------------------------------- the main report


def _main_report(config: Config, paths: Paths, cv: dict, oof: pd.DataFrame, written: list[Path]) -> None:
    chosen, metric = cv["model"], cv["metric"]
    y = oof["y"].to_numpy(dtype=int)
    scores = oof[chosen].to_numpy(dtype=float)
    cut = cv["threshold"]
    labeled = _labeled(cv, y)
    folds = int(oof["fold"].max()) + 1
    out = paths.reports

    lines = [
        f"# memdev report: {paths.slug}",
        "",
        f"Regime `{cv['regime']}`, metric `{metric}`, {len(y)} training rows, {folds}-fold cross-validation. "
        f"Chosen model: **{chosen}**"
        + (f", CV {metric} = **{cv['value']:.4f}**." if cv["value"] is not None else " (no labels: no CV metric)."),
        "",
        f"Comparator threshold: strategy `{cut['strategy']}`, {cut['value']:.6g} on the out-of-fold score scale, "
        f"calling {cut['rate']:.2%} of training rows anomalous; it transfers to the test set by "
        + ("share of rows (rate)." if cut["by"] == "rate" else "score value."),
        "",
        "## Out-of-fold metrics",
        "",
    ]
    if labeled and "metrics" in cv:
        lines += ["```text", metrics.table({f"{chosen} (OOF)": cv["metrics"]}),
                  "", "verdict: " + metrics.verdict(cv["metrics"], cv["metric"]), "```", ""]
    else:
        lines += [f"No labels in regime `{cv['regime']}`: no metrics table, no CV metric and no verdict "
                  "against the base rate; the threshold comes from the strategy above, not from labels.", ""]

    lines += ["## Candidates", ""]
    if cv.get("candidates"):
        lines += [f"| candidate | CV {metric} | |", "|---|---:|---|"]
        for name, value in sorted(cv["candidates"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {name} | {value:.4f} | {'**chosen**' if name == chosen else ''} |")
    else:
        lines.append(f"Only `{chosen}` (the MemAE reconstruction error) can score rows without labels.")
    lines += ["", "## Figures", ""]

    if labeled:
        _pr_curve(oof, cv, out / "pr_curve.png", written)
        _f1_threshold(y, scores, cv, out / "f1_threshold.png", written)
    _histogram(y, scores, cv, labeled, out / "score_histogram.png", written)
    if labeled and cv.get("per_fold"):
        _fold_spread(cv, out / "cv_folds.png", written)
    loss_note = _loss_plot(oof, cv, labeled, out / "memae_loss.png", written)

    captions = {
        "pr_curve.png": f"Precision against recall of the `{chosen}` out-of-fold scores (thin lines: the other "
                        "candidates); the grey line is chance, a precision equal to the prevalence; the dot is the "
                        "chosen threshold's operating point.",
        "f1_threshold.png": f"F1 (with precision and recall) of calling rows with a `{chosen}` score at or above "
                            "each threshold anomalous; the vertical line is the chosen threshold.",
        "score_histogram.png": f"`{chosen}` out-of-fold scores of normal and anomalous rows, with the threshold."
        if labeled else f"`{chosen}` out-of-fold scores of all rows (no labels), with the threshold.",
        "cv_folds.png": f"CV {metric} of each held-out fold, their mean, and the pooled out-of-fold value.",
        "memae_loss.png": loss_note,
    }
    if not labeled:
        lines += ["Without labels the precision-recall curve, F1 against threshold and CV-fold spread "
                  "are skipped: each needs labeled anomalies. The score histogram and the per-sample loss "
                  "plot below show where the threshold falls.", ""]
    for name, caption in captions.items():
        if (out / name) in written:
            lines += [f"### {FIGURES[name]}", "", f"![{FIGURES[name]}]({name})", "", caption, ""]
    _write(out / "report.md", "\n".join(lines), written)


def _pr_curve(oof: pd.DataFrame, cv: dict, path: Path, written: list[Path]) -> None:
    chosen = cv["model"]
    y = oof["y"].to_numpy(dtype=int)
    prevalence = float(y.mean())
    figure, axes = _figure(f"Precision-recall, out of fold: {chosen}", "recall", "precision")
    others = [c for c in ("memae", "devnet", "gbm", "stack", "blend") if c in oof.columns and c != chosen]
    for name in others:
        precision, recall, _ = precision_recall_curve(y, oof[name].to_numpy(dtype=float))
        ap = metrics.evaluate(y, oof[name].to_numpy(dtype=float))["auc_pr"]
        axes.plot(recall, precision, lw=1, alpha=0.55, drawstyle="steps-post", label=f"{name} (AUC-PR {ap:.3f})")
    precision, recall, _ = precision_recall_curve(y, oof[chosen].to_numpy(dtype=float))
    ap = metrics.evaluate(y, oof[chosen].to_numpy(dtype=float))["auc_pr"]
    axes.plot(recall, precision, lw=2.4, color="black", drawstyle="steps-post",
              label=f"{chosen}, chosen (AUC-PR {ap:.3f})")
    axes.axhline(prevalence, color=COLORS["chance"], ls="--", lw=1.5, label=f"chance = prevalence ({prevalence:.3f})")
    values = cv.get("metrics", {})
    if "precision" in values and "recall" in values:
        axes.plot([values["recall"]], [values["precision"]], "o", ms=9, color=COLORS["anomalous"], zorder=5,
                  label=f"threshold: P {values['precision']:.3f}, R {values['recall']:.3f}")
    axes.set_xlim(-0.02, 1.02)
    axes.set_ylim(0, 1.05)
    _legend(axes)
    _save(figure, path, written)


def _f1_threshold(y: np.ndarray, scores: np.ndarray, cv: dict, path: Path, written: list[Path]) -> None:
    value = float(cv["threshold"]["value"])
    precision, recall, cuts = precision_recall_curve(y, scores)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    low, high, clipped = _view(scores, value)
    shown = (cuts >= low) & (cuts <= high)
    xlabel = f"threshold on the {cv['model']} score (rows at or above it are called anomalous)"
    if clipped:
        xlabel += f"\n{clipped} extreme scores lie outside the shown range"
    figure, axes = _figure(f"F1 against threshold, out of fold: {cv['model']}", xlabel, "precision, recall, F1")
    axes.plot(cuts[shown], precision[shown], lw=1, alpha=0.7, color="tab:green", label="precision")
    axes.plot(cuts[shown], recall[shown], lw=1, alpha=0.7, color="tab:orange", label="recall")
    axes.plot(cuts[shown], f1[shown], lw=2.2, color="tab:purple", label=f"F1 (best {f1.max():.3f})")
    at = float(f1[np.argmin(np.abs(cuts - value))]) if len(cuts) else float("nan")
    axes.axvline(value, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"chosen threshold ({cv['threshold']['strategy']}) = {value:.4g}, F1 {at:.3f}")
    axes.set_xlim(low, high)
    axes.set_ylim(0, 1.05)
    _legend(axes)
    _save(figure, path, written)


def _histogram(y: np.ndarray, scores: np.ndarray, cv: dict, labeled: bool, path: Path, written: list[Path]) -> None:
    value = float(cv["threshold"]["value"])
    low, high, clipped = _view(scores, value)
    bins = np.linspace(low, high, 61)
    shown = np.clip(scores, low, high)
    xlabel = f"{cv['model']} out-of-fold score"
    if clipped:
        xlabel += f" ({clipped} extreme values piled into the edge bins)"
    figure, axes = _figure(f"Out-of-fold {cv['model']} scores" + (": normal vs anomalous" if labeled else " (no labels)"),
                           xlabel, "rows")
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
    axes.axvline(value, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"threshold ({cv['threshold']['strategy']}) = {value:.4g}: {cv['threshold']['rate']:.1%} called anomalous")
    axes.set_xlim(low, high)
    _legend(axes)
    _save(figure, path, written)


def _fold_spread(cv: dict, path: Path, written: list[Path]) -> None:
    metric = cv["metric"]
    per_fold = cv["per_fold"]
    folds = [k + 1 for k, v in enumerate(per_fold) if v is not None]
    values = np.array([v for v in per_fold if v is not None], dtype=float)
    mean, std = float(values.mean()), float(values.std())
    title = f"CV {metric} per fold: mean {mean:.4f}, std {std:.4f}"
    missing = len(per_fold) - len(folds)
    xlabel = "held-out fold" + (f" ({missing} fold(s) without anomalies not scored)" if missing else "")
    figure, axes = _figure(title, xlabel, f"{metric} of the held-out fold")
    axes.plot(folds, values, "o", ms=9, color=COLORS["normal"], label=f"{cv['model']} on each fold")
    for fold, value in zip(folds, values):
        axes.annotate(f"{value:.3f}", (fold, value), textcoords="offset points", xytext=(0, 8),
                      ha="center", fontsize="small")
    axes.axhline(mean, color="black", lw=1.5, label=f"mean of folds {mean:.4f}")
    axes.axhspan(mean - std, mean + std, color="gray", alpha=0.15, label=f"mean ± std ({std:.4f})")
    axes.axhline(cv["value"], color="tab:purple", ls=":", lw=1.5, label=f"pooled out-of-fold {cv['value']:.4f}")
    spread = max(float(values.max() - values.min()), std, 0.01)
    top = float(values.max()) + 1.2 * spread
    if values.max() <= 1.0:  # every metric here is at most 1: leave just room for the labels
        top = min(top, 1.0 + 0.3 * spread)
    axes.set_ylim(max(0.0, float(values.min()) - 1.5 * spread), top)
    axes.set_xticks(range(1, len(per_fold) + 1))
    _legend(axes)
    _save(figure, path, written)


def _loss_plot(oof: pd.DataFrame, cv: dict, labeled: bool, path: Path, written: list[Path]) -> str:
    """Row index against the MemAE reconstruction error; returns the figure's caption."""
    if "memae" not in oof.columns:
        return ""
    error = oof["memae"].to_numpy(dtype=float)
    y = oof["y"].to_numpy(dtype=int)
    rows = np.arange(len(error))
    if cv["model"] == "memae":
        cut = float(cv["threshold"]["value"])
        cut_label = f"threshold ({cv['threshold']['strategy']}) = {cut:.4g}"
        note = "the chosen model's threshold"
    else:
        cut = float(np.quantile(error[y == 0], 0.99))
        cut_label = f"99th percentile of normal rows' errors = {cut:.4g}"
        note = f"the 99th percentile of normal rows' errors (the chosen model is `{cv['model']}`, not `memae`)"
    figure, axes = _figure("Per-sample MemAE reconstruction error, out of fold",
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
    positive = error[error > 0]
    if len(positive) and np.quantile(positive, 0.999) / np.median(positive) > 20:
        axes.set_yscale("log")
        axes.set_ylabel("reconstruction error (MSE, log scale)")
    axes.set_xlim(-0.01 * len(rows), 1.01 * len(rows))
    _legend(axes, 3, markerscale=3 if size < 10 else 2)
    _save(figure, path, written)
    share = float(np.mean(error >= cut))
    return (f"The MemAE's out-of-fold reconstruction error of every training row; the dashed line is {note}, "
            f"at or above which lie {share:.1%} of rows"
            + (f" ({float(np.mean(error[y == 1] >= cut)):.1%} of the anomalous ones)." if labeled else "."))


# ---------------------------------------------------------------- the leaderboard


def submissions(paths: Paths) -> pd.DataFrame:
    """This competition's ledger rows, numbered from 1, with ``cv`` and ``public`` as floats."""
    frame = ledger.read(paths.ledger)
    frame = frame[frame["competition"] == paths.slug].reset_index(drop=True)
    frame.index = frame.index + 1
    for column, source in (("cv", "cv_value"), ("public", "public_score"), ("private", "private_score")):
        frame[column] = pd.to_numeric(frame[source], errors="coerce")
    return frame


def finals(frame: pd.DataFrame, window: float = PUBLIC_WINDOW) -> tuple[int | None, int | None, str]:
    """The two final selections (row labels of ``frame``) and a note on the second.

    1. the best CV (ties: the better public score, then the later submission);
    2. the best CV among submissions whose public score is within ``window``
       of the best public score. When that is the same submission (or one
       with the same bytes) as the first, the second slot goes to the next
       best CV in the window, else to the next best CV overall, so the two
       final submissions are never the same file.
    """
    ranked = frame[frame["cv"].notna()].copy()
    if ranked.empty:
        return None, None, "no submission has a CV value"
    ranked["_order"] = range(len(ranked))
    ranked = ranked.sort_values(["cv", "public", "_order"], ascending=[False, False, False], na_position="last")
    first = ranked.index[0]
    if not ranked["public"].notna().any():
        return first, None, "no public scores yet: record scores with `make lb`"
    best_public = float(ranked["public"].max())
    near = ranked[ranked["public"] >= best_public - window - 1e-12]
    second = near.index[0]
    if second != first and not _same_file(frame, first, second):
        return first, second, ""
    distinct = [i for i in ranked.index if i != first and not _same_file(frame, first, i)]
    in_window = [i for i in distinct if i in near.index]
    if in_window:
        return first, in_window[0], ("both rules pick the same submission, so the second slot takes the next "
                                     "best CV within the public window")
    if distinct:
        return first, distinct[0], ("both rules pick the same submission and no other lies within the public "
                                    "window, so the second slot takes the next best CV")
    return first, None, "both rules pick the same submission and there is no other distinct one"


def _same_file(frame: pd.DataFrame, a, b) -> bool:
    sha_a, sha_b = frame.at[a, "sha256"], frame.at[b, "sha256"]
    return bool(sha_a) and sha_a == sha_b


def _leaderboard(config: Config, paths: Paths, written: list[Path]) -> None:
    frame = submissions(paths)
    metric = config.metric
    lines = [f"# Leaderboard: {paths.slug}", ""]
    if frame.empty:
        lines += [f"No submissions of `{paths.slug}` in `{paths.ledger}` yet: `make submit COMP={paths.slug}` "
                  "adds one; then record scores with `make lb`.", ""]
        _write(paths.reports / "leaderboard.md", "\n".join(lines), written)
        return
    metrics_seen = sorted({m for m in frame["cv_metric"] if m})
    comparable = frame
    if len(metrics_seen) > 1 and metric in metrics_seen:
        comparable = frame[frame["cv_metric"].isin([metric, ""])]
        lines += [f"The ledger holds CV values in {', '.join(metrics_seen)}; the correlation and the selections "
                  f"use only the {len(comparable)} submissions measured in `{metric}`, the config's metric.", ""]
    both = comparable[comparable["cv"].notna() & comparable["public"].notna()]
    with_public = int(frame["public"].notna().sum())
    lines += [f"{len(frame)} submissions recorded in `{paths.ledger}`, {with_public} with a public score.", ""]
    has_private = frame["private"].notna().any()
    lines += ["| # | time | file | model | CV | public" + (" | private |" if has_private else " |"),
              "|---:|---|---|---|---:|---:|" + ("---:|" if has_private else "")]
    for i, row in frame.iterrows():
        cv_cell = f"{row['cv_metric']} {_fmt(row['cv'])}" if pd.notna(row["cv"]) else "no CV"
        cells = [str(i), row["time"], f"`{Path(row['file']).name}`", row["model"], cv_cell, _fmt(row["public"])]
        if has_private:
            cells.append(_fmt(row["private"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## CV against the public leaderboard", ""]
    r = _pearson(both["cv"].to_numpy(float), both["public"].to_numpy(float))
    if len(both) < 3:
        lines.append(f"Correlation needs at least 3 submissions with both a CV value and a public score; "
                     f"there are {len(both)}." + ("" if with_public else " Record public scores with `make lb`."))
    elif r is None:
        lines.append(f"Pearson correlation undefined over {len(both)} submissions: the CV or the public scores do not vary.")
    else:
        lines.append(f"Pearson correlation of CV and public score: **r = {r:.3f}** over {len(both)} submissions"
                     + (": CV tracks the public leaderboard" if r >= 0.5 else
                        ": CV and the public leaderboard disagree (a small or shifted public split); weigh CV more")
                     + ("; with this few submissions, a rough guide only." if len(both) < 10 else "."))
    if len(both):
        gap = both["public"] - both["cv"]
        lines.append(f"Public score below CV for {int((gap < 0).sum())} of {len(both)} submissions; "
                     f"mean public - CV = {gap.mean():+.4f}.")
    lines.append("")
    first, second, note = finals(comparable)
    if len(both):
        _scatter(both, comparable, first, second, r, metric, paths.reports / "cv_vs_lb.png", written)
        lines += ["![CV against public score](cv_vs_lb.png)", ""]
    lines += ["## Final selections", "",
              "Two final submissions, the way experienced Kagglers pick them: one that trusts CV, and one that "
              f"trusts CV among those on top of the public leaderboard (public score within {PUBLIC_WINDOW} of the best).",
              ""]
    if first is None:
        lines.append(f"None yet: {note}.")
    else:
        lines.append(f"1. **Best CV**: {_describe(frame, first)}")
        if second is None:
            lines.append(f"2. **Best CV near the top of the public LB**: none yet; {note}.")
        else:
            lines.append(f"2. **Best CV near the top of the public LB** "
                         f"(best public {comparable['public'].max():.4f}): {_describe(frame, second)}"
                         + (f"  \n   ({note}.)" if note else ""))
    lines.append("")
    _write(paths.reports / "leaderboard.md", "\n".join(lines), written)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _describe(frame: pd.DataFrame, i) -> str:
    row = frame.loc[i]
    public = f", public {row['public']:.4f}" if pd.notna(row["public"]) else ", no public score"
    return f"#{i} `{row['file']}` ({row['model']}, CV {row['cv_metric']} {row['cv']:.4f}{public})"


def _scatter(both: pd.DataFrame, frame: pd.DataFrame, first, second, r: float | None, metric: str,
             path: Path, written: list[Path]) -> None:
    """CV against public score of the submissions in ``both``; the picks marked (pick 1 as a
    vertical line when it has no public score yet)."""
    title = "CV against public leaderboard score" + (f": Pearson r = {r:.3f}" if r is not None else "")
    figure, axes = _figure(title, f"CV {metric} (out of fold)", "public leaderboard score")
    axes.scatter(both["cv"], both["public"], s=45, color=COLORS["normal"], alpha=0.8, zorder=3,
                 label=f"submissions ({len(both)})")
    for i, row in both.iterrows():
        axes.annotate(f"#{i}", (row["cv"], row["public"]), textcoords="offset points", xytext=(6, 4), fontsize="small")
    for pick, marker, color, label in ((first, "*", "tab:orange", "pick 1: best CV"),
                                       (second, "D", "tab:green", "pick 2: best CV near the top of public")):
        if pick is not None and pick in both.index:
            axes.scatter([both.at[pick, "cv"]], [both.at[pick, "public"]], s=220 if marker == "*" else 110,
                         marker=marker, facecolor="none", edgecolor=color, lw=2, zorder=4, label=f"{label} (#{pick})")
    xs = list(both["cv"])
    if first is not None and first not in both.index:
        xs.append(float(frame.at[first, "cv"]))
        axes.axvline(xs[-1], color="tab:orange", ls=":", lw=2,
                     label=f"pick 1: best CV (#{first}, no public score yet)")
    pad_x = max(0.05 * (max(xs) - min(xs)), 0.002)
    pad_y = max(0.08 * float(both["public"].max() - both["public"].min()), 0.002)
    x_lo, x_hi = min(xs) - pad_x, max(xs) + pad_x
    y_lo, y_hi = float(both["public"].min()) - pad_y, float(both["public"].max()) + pad_y
    lo, hi = max(x_lo, y_lo), min(x_hi, y_hi)
    if lo < hi:  # the diagonal only where it crosses the view
        axes.plot([lo, hi], [lo, hi], color=COLORS["chance"], ls="--", lw=1, label="public = CV")
    axes.set_xlim(x_lo, x_hi)
    axes.set_ylim(y_lo, y_hi)
    _legend(axes)
    _save(figure, path, written)


# ---------------------------------------------------------------- the index


def _index(config: Config, paths: Paths, written: list[Path]) -> str:
    out = paths.reports
    made = {p.name for p in written}
    lines = [f"# memdev reports: {paths.slug}", ""]
    lines.append("- [Main report](report.md): out-of-fold metrics beside the base rate, candidates, figures")
    for name in ("pr_curve.png", "f1_threshold.png", "score_histogram.png", "cv_folds.png", "memae_loss.png"):
        if name in made:
            lines.append(f"  - [{FIGURES[name]}]({name})")
    lines.append("- [Leaderboard](leaderboard.md): submissions, CV against public score, final selections")
    if "cv_vs_lb.png" in made:
        lines.append(f"  - [{FIGURES['cv_vs_lb.png']}](cv_vs_lb.png)")
    from .studies import FIGURES as STUDY_FIGURES, PAGES

    # a study page older than the CV results describes an older model: say so rather than hide it
    trained = paths.cv.stat().st_mtime if paths.cv.exists() else 0.0
    for page, title in PAGES.items():
        if page == "groups.md" and not config.group_column:
            lines.append(f"- {title}: set `group_column` in {paths.config} to name a column of train.csv")
            continue
        if not (out / page).exists():
            lines.append(f"- {title}: not run yet (`make report COMP={paths.slug}` runs every study)")
            continue
        stale = (out / page).stat().st_mtime < trained
        lines.append(f"- [{title}]({page})" + (" (older than the current models: rerun `make report`)" if stale else ""))
        prefix = page.removesuffix(".md")
        lines += [f"  - [{text}]({name})" for name, text in STUDY_FIGURES.items()
                  if name.startswith(prefix) and (out / name).exists()]
    tuned = [name for name in TUNE_PLOTS if (out / name).exists()]
    if tuned:
        lines.append("- Optuna tuning (`make tune`):")
        lines += [f"  - [{TUNE_PLOTS[name]}]({name})" for name in tuned]
    else:
        lines.append(f"- Optuna tuning: no plots yet (`make tune COMP={paths.slug}` draws them)")
    return "\n".join(lines) + "\n"
