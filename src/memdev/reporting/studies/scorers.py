"""Study 3, scores beyond reconstruction error: ``scorers.md``, ``scorers.csv`` and ``scorers_hist.png``.

Reads the fold MemAEs and the out-of-fold scores of ``make train``; scores
every row out of fold by reconstruction error, nearest-centroid distance in
latent space, memory-addressing entropy and the DevNet deviation (the
config's ``scorers``); measures each one's AUCs (with labels) and what its
candidate thresholds flag; writes the table, the page and one histogram
panel per scorer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from keras import ops
from sklearn.cluster import KMeans

from memdev.config import Config
from memdev.errors import MemdevError
from memdev.models.memae import MemAEDetector
from memdev.models.memory import entropy
from memdev.paths import Paths
from memdev.reporting import plots
from memdev.reporting.plots import COLORS
from memdev.reporting.studies import common

PAGE = "scorers.md"
TITLE = "Scores beyond reconstruction error: latent distance, addressing entropy, DevNet"
FIGURES = {"scorers_hist.png": "Each scorer's scores for normal and anomalous rows, with candidate thresholds"}
# name in the config: (title, axis label)
SCORERS = {
    "reconstruction": ("reconstruction error", "reconstruction error (MSE)"),
    "latent_distance": ("nearest-centroid distance in latent space", "distance to the nearest k-means centroid"),
    "addressing_entropy": ("memory-addressing entropy", "entropy of the memory addressing weights (nats)"),
    "devnet": ("DevNet deviation", "DevNet deviation score"),
}
KMEANS_CLUSTERS = 8
KMEANS_MAX_ROWS = 100_000  # k-means centroids from at most this many normal codes per fold
# the candidate thresholds' lines, in the order _candidate_cuts names them: (color, line style)
CUT_STYLES = (("tab:gray", ":"), ("black", "--"), ("tab:green", "-."))


def run(config: Config, paths: Paths) -> list[Path]:
    """Reconstruction error, latent nearest-centroid distance, addressing entropy and DevNet, compared.

    All out of fold, as ``make train`` left them: each fold's MemAE scores
    the rows it held out; the k-means centroids (k = 8) come from the codes
    of that fold's normal training rows; the DevNet deviation is the
    ``devnet`` column of ``oof.parquet`` (labeled competitions only). The
    config's ``scorers`` picks which are compared. Writes ``scorers.csv``,
    ``scorers.md`` and ``scorers_hist.png``; returns the paths written.
    """
    trained = common.load(config, paths)
    scores = score(config, paths, trained)
    if not scores:
        raise MemdevError(f"{paths.config}: scorers lists only 'devnet', and DevNet needs labeled anomalies")
    table = measure(scores, trained.y, trained.labeled, config.threshold.margin)
    written: list[Path] = []
    out = paths.reports
    plots.write("scorers", out / "scorers.csv", table, written)
    _histograms(scores, trained.y, trained.labeled, config.threshold.margin, table, out / "scorers_hist.png", written)
    plots.write("scorers", out / PAGE, page(config, paths, scores, table, trained.y, trained.labeled), written)
    return written


# ---------------------------------------------------------------- scoring


def score(config: Config, paths: Paths, trained: common.Trained) -> dict[str, np.ndarray]:
    """Every row's out-of-fold score by each of the config's scorers that can score it."""
    X, y = trained.X, trained.y
    scores = {name: np.zeros(len(y)) for name in ("reconstruction", "latent_distance", "addressing_entropy")}
    for held, detector in trained.memaes(config, paths):
        fit_rows = np.flatnonzero(~np.isin(np.arange(len(y)), held) & (y == 0))
        if len(fit_rows) > KMEANS_MAX_ROWS:
            fit_rows = np.sort(np.random.default_rng(config.seed).choice(fit_rows, KMEANS_MAX_ROWS, replace=False))
        codes = detector.features(X[fit_rows], views=("latent",))["latent"]
        clusters = KMeans(min(KMEANS_CLUSTERS, len(fit_rows)), n_init=4, random_state=config.seed).fit(codes)
        parts = detector.features(X[held], views=("latent", "error"))
        scores["reconstruction"][held] = parts["error"][:, 0]
        scores["latent_distance"][held] = clusters.transform(parts["latent"]).min(axis=1)
        scores["addressing_entropy"][held] = _addressing_entropy(detector, parts["latent"])
    if "devnet" in trained.oof.columns:
        scores["devnet"] = trained.oof["devnet"].to_numpy(dtype=float)
    return {name: values for name, values in scores.items() if name in config.scorers}


def _addressing_entropy(detector: MemAEDetector, codes: np.ndarray, chunk: int = 65536) -> np.ndarray:
    unit = detector.model_.get_layer("memory")
    out = []
    for start in range(0, len(codes), chunk):
        weights = unit.addressing(ops.convert_to_tensor(codes[start:start + chunk]))
        out.append(ops.convert_to_numpy(entropy(weights)))
    return np.concatenate(out) if out else np.zeros(0)


def _candidate_cuts(normal: np.ndarray, margin: float) -> dict[str, float]:
    """Thresholds set from the normal rows' scores alone: two percentiles and the ``max_normal`` strategy's."""
    top = float(normal.max())
    return {
        "p95 normal": float(np.quantile(normal, 0.95)),
        "p99 normal": float(np.quantile(normal, 0.99)),
        f"max normal + {margin:.0%}": top + margin * abs(top),
    }


def measure(scores: dict[str, np.ndarray], y: np.ndarray, labeled: bool, margin: float) -> pd.DataFrame:
    """One row per scorer: AUC-ROC, AUC-PR and the share of anomalies each candidate threshold catches
    (with labels), else the share of all rows each one flags."""
    table = []
    for name, values in scores.items():
        cuts = _candidate_cuts(values[y == 0], margin)
        row = {"scorer": SCORERS[name][0]}
        if labeled:
            row["auc_roc"], row["auc_pr"] = common.auc(y, values)
            for label, cut in cuts.items():
                row[f"caught {label}"] = float(np.mean(values[y == 1] >= cut))
        else:
            for label, cut in cuts.items():
                row[f"flagged {label}"] = float(np.mean(values >= cut))
        table.append(row)
    return pd.DataFrame(table)


# ---------------------------------------------------------------- the page


def page(config: Config, paths: Paths, scores: dict[str, np.ndarray], table: pd.DataFrame, y: np.ndarray,
         labeled: bool) -> str:
    """``scorers.md``: what each scorer measures, the table, the best by AUC-PR, and the histograms."""
    margin = config.threshold.margin
    lines = [
        f"# Scores beyond reconstruction error: {paths.slug}", "",
        "Ways to score a row with the MemAE (the config's `scorers`), each row by the fold models of `make train` "
        "that held it out:", "",
    ]
    meaning = {
        "reconstruction": "the mean squared error between the row and its reconstruction (the MemAE's score)",
        "latent_distance": f"the distance from the row's latent code to the nearest of {KMEANS_CLUSTERS} k-means "
                           "centroids of the codes of its fold's normal training rows",
        "addressing_entropy": "the entropy of the sparse weights with which the code addresses the memory (low: "
                              "the row matches a few stored prototypes; high: it is spread over many)",
        "devnet": "the fine-tuned head's score" + ("" if "devnet" in scores else " (not available: DevNet needs "
                                                   "labeled anomalies)"),
    }
    lines += [f"- **{SCORERS[name][0]}**: {meaning[name]};" for name in config.scorers] + [""]
    shown = table.rename(columns={"auc_roc": "AUC-ROC", "auc_pr": "AUC-PR"})
    for column in shown.columns[1:]:
        shown[column] = shown[column].map(lambda v, c=column: f"{v:.4f}" if c.startswith("AUC") else f"{v:.1%}")
    if labeled:
        best = table.loc[table["auc_pr"].idxmax()]
        lines += [f"Prevalence {y.mean():.3f} (the AUC-PR of chance). An AUC-ROC below 0.5 means the scorer ranks "
                  "the rows the other way round. `caught` columns: the share of anomalous rows at or above each "
                  "candidate threshold, all set from the normal rows' scores.", ""]
        lines += plots.markdown_table(shown, right=tuple(shown.columns[1:]))
        lines += ["", f"Best by AUC-PR: **{best['scorer']}** ({best['auc_pr']:.3f}). The table is also in "
                  "[scorers.csv](scorers.csv).", ""]
    else:
        lines += [f"Regime `{config.regime}`: no labeled anomalies, so no AUC: the table gives the share of all "
                  "rows each candidate threshold would flag, and the histograms show where those thresholds fall.", ""]
        lines += plots.markdown_table(shown, right=tuple(shown.columns[1:])) + [""]
    lines += plots.figure_section(
        "scorers_hist.png", FIGURES["scorers_hist.png"],
        "One panel per scorer: the share of " + ("normal and of anomalous rows" if labeled else "rows")
        + " in each bin, with the candidate thresholds (95th and 99th percentile of the normal rows' scores, "
        f"and the maximum normal score plus a {margin:.0%} margin, the `max_normal` strategy).", level="##")
    return "\n".join(lines)


# ---------------------------------------------------------------- the figure


def _histograms(scores: dict[str, np.ndarray], y: np.ndarray, labeled: bool, margin: float, table: pd.DataFrame,
                path: Path, written: list[Path]) -> None:
    """One panel per scorer, two columns; one shared legend below."""
    count = len(scores)
    columns = 2 if count > 1 else 1
    rows = -(-count // columns)
    figure, panels = plots.pyplot().subplots(rows, columns, figsize=(5.4 * columns, 3.6 * rows + 0.6),
                                             layout="constrained", squeeze=False)
    figure.suptitle("Scores of normal and anomalous rows, out of fold" if labeled else "Scores of all rows (no labels)")
    for i, ((name, values), row) in enumerate(zip(scores.items(), table.to_dict("records"))):
        _panel(panels[i // columns, i % columns], name, values, y, labeled, _candidate_cuts(values[y == 0], margin),
               row)
    for i in range(count, rows * columns):
        panels[i // columns, i % columns].set_visible(False)
    handles, labels = panels[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=5 if labeled else 4, fontsize="small", frameon=False)
    plots.save("scorers", path, figure, written)


def _panel(axes, name: str, values: np.ndarray, y: np.ndarray, labeled: bool, cuts: dict[str, float],
           row: dict) -> None:
    """One scorer's histogram (shares of each class's rows) with its candidate thresholds."""
    title, xlabel = SCORERS[name]
    low, high, _ = plots.view(values)
    reach = high - low  # a threshold within one view-width of the bulk is drawn; farther ones are noted
    low, high, clipped = plots.view(values, *[c for c in cuts.values() if low - reach <= c <= high + reach])
    # a skewed positive score (reconstruction error) would crowd into the first bins of a linear axis
    logx = values.min() > 0 and high / values.min() > 20
    if logx:
        low, high = max(low, float(values[values > 0].min())), high
        bins = np.geomspace(low, high, 50)
        axes.set_xscale("log")
    else:
        bins = np.linspace(low, high, 50)
    groups = ([(y == 0, COLORS["normal"], "normal rows"), (y == 1, COLORS["anomalous"], "anomalous rows")]
              if labeled else [(np.ones(len(y), bool), COLORS["normal"], "all rows (unlabeled)")])
    for mask, color, label in groups:
        kept = np.clip(values[mask], bins[0], bins[-1])
        axes.hist(kept, bins=bins, weights=np.full(len(kept), 1.0 / max(len(kept), 1)), color=color,
                  alpha=0.55, label=label)
    off = []
    for (label, cut), (color, style) in zip(cuts.items(), CUT_STYLES):
        if bins[0] <= cut <= bins[-1]:
            axes.axvline(cut, color=color, ls=style, lw=1.5, label=f"threshold: {label}")
        else:  # a legend entry all the same, so every panel's legend matches the shared one
            axes.plot([], [], color=color, ls=style, lw=1.5, label=f"threshold: {label}")
            off.append(f"{label} = {cut:.3g}")
    subtitle = f"AUC-ROC {row['auc_roc']:.3f}, AUC-PR {row['auc_pr']:.3f}" if labeled else ""
    axes.set_title(f"{title}" + (f"\n{subtitle}" if subtitle else ""), fontsize="medium")
    note = [f"{clipped} rows beyond the view are counted in the edge bins"] if clipped else []
    note += [f"off the view: threshold {text}" for text in off]
    axes.set_xlabel("\n".join([xlabel + (" (log scale)" if logx else "")] + note), fontsize="small")
    axes.set_ylabel("share of the class's rows" if labeled else "share of rows")
    axes.grid(alpha=0.3)
