"""Study 1, architecture comparison: ``compare.md``, ``compare.csv`` and two figures.

Reads the features, folds and labels of ``make train``; trains plain, deep
and convolutional autoencoders and the MemAE on the same folds' normal rows;
measures AUC-ROC and AUC-PR of their held-out reconstruction errors after
each epoch budget; writes the table, the AUC-by-epochs figure and the
per-sample loss of the best. Without labels there is no ground truth, and the
page says so.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from memdev.config import Config
from memdev.models import loop
from memdev.paths import Paths
from memdev.reporting import plots
from memdev.reporting.plots import COLORS
from memdev.reporting.studies import common
from memdev.reporting.studies.autoencoders import Architecture, architectures, deep_width

PAGE = "compare.md"
TITLE = "Architecture comparison: plain, deep, convolutional autoencoders and MemAE by epoch budget"
FIGURES = {
    "compare_auc.png": "AUC-ROC and AUC-PR against training epochs, per architecture",
    "compare_loss.png": "Per-sample reconstruction loss of the best architecture",
}
EPOCHS = (1, 5, 10)
FOLDS = 2
COLORS_BY_MODEL = {"plain": "tab:orange", "deep": "tab:green", "conv": "tab:purple", "memae": "tab:blue"}


def run(config: Config, paths: Paths, folds: int = FOLDS, epochs: tuple[int, ...] = EPOCHS,
        batch_size: int | None = None) -> list[Path]:
    """Plain, deep and convolutional autoencoders and the MemAE on the same folds and epoch budgets.

    Each model trains on a fold's normal training rows (not labeled
    anomalous) and scores the fold's held-out rows after each budget in
    ``epochs`` (training continues from one budget to the next). At most
    ``folds`` folds are used. ``batch_size`` defaults to the config's
    ``memae.batch_size``, made smaller on small data so an epoch is at least
    20 steps. Writes ``compare.md``, ``compare.csv``, ``compare_auc.png`` and
    ``compare_loss.png``; returns the paths written.
    """
    trained = common.load(config, paths)
    written: list[Path] = []
    out = paths.reports
    if not trained.labeled:
        plots.write("compare", out / PAGE, skipped(config, paths), written)
        plots.remove_stale("compare", out, ("compare.csv", *FIGURES), written)
        return written
    result = measure(config, paths, trained, folds, epochs, batch_size)
    plots.write("compare", out / "compare.csv", result.table, written)
    _auc_figure(result, out / "compare_auc.png", written)
    cut = _loss_figure(result, trained.y, out / "compare_loss.png", written)
    plots.write("compare", out / PAGE, page(config, paths, result, trained.y, cut), written)
    return written


# ---------------------------------------------------------------- training and scoring


@dataclass
class Comparison:
    """The architectures' held-out AUCs by epoch budget, and the best one's per-row loss."""

    table: pd.DataFrame  # per model and budget: mean and std over folds of AUC-ROC and AUC-PR, seconds, parameters
    best: pd.Series  # the table's row with the highest mean AUC-PR
    loss: np.ndarray  # every row's held-out loss under the best model and budget (NaN outside the used folds)
    models: list[Architecture]
    layout: bool  # whether the features form a square image (the convolutional AE is then 2-D)
    epochs: tuple[int, ...]
    used: list[int]  # the folds evaluated
    fold_count: int
    evaluated: np.ndarray  # the rows those folds hold out
    prevalence: float  # of anomalies among the evaluated rows: the AUC-PR of chance
    batches: list[int]  # the batch sizes used (one per fold)


def measure(config: Config, paths: Paths, trained: common.Trained, folds: int, epochs: tuple[int, ...],
            batch_size: int | None) -> Comparison:
    """Train every architecture on the first ``folds`` folds and score their held-out rows after each budget."""
    X, y, fold_of = trained.X, trained.y, trained.fold_of
    epochs = tuple(sorted(set(int(e) for e in epochs)))
    used = list(range(min(max(int(folds), 1), trained.fold_count)))
    layout = common.image_layout(*common.feature_names(paths, X.shape[1]))
    models = architectures(config, X.shape[1], layout)
    rows, losses, batches = [], {(m.key, e): np.full(len(y), np.nan) for m in models for e in epochs}, set()
    for fold in used:
        train = np.flatnonzero((fold_of != fold) & (y == 0))
        held = np.flatnonzero(fold_of == fold)
        batch = batch_size or min(config.memae.batch_size, max(16, len(train) // 20))
        batches.add(batch)
        for model in models:
            for record, loss in _fit(config, model, fold, X[train], X[held], y[held], epochs, batch):
                losses[(model.key, record["epochs"])][held] = loss
                rows.append(record)
    table = (pd.DataFrame(rows).groupby(["model", "label", "epochs"], sort=False)
             .agg(auc_roc=("auc_roc", "mean"), auc_roc_std=("auc_roc", "std"), auc_pr=("auc_pr", "mean"),
                  auc_pr_std=("auc_pr", "std"), seconds=("seconds", "mean"), parameters=("parameters", "first"))
             .reset_index())
    best = table.sort_values(["auc_pr", "auc_roc"], ascending=False, kind="stable").iloc[0]
    evaluated = np.flatnonzero(np.isin(fold_of, used))
    return Comparison(table, best, losses[(best["model"], int(best["epochs"]))], models, layout is not None, epochs,
                      used, trained.fold_count, evaluated, float(y[evaluated].mean()), sorted(batches))


def _fit(config: Config, model: Architecture, fold: int, train: np.ndarray, held: np.ndarray, y_held: np.ndarray,
         epochs: tuple[int, ...], batch: int):
    """Train ``model`` on ``train`` budget by budget; yield each budget's record and held-out losses."""
    cfg = config.memae
    keras.utils.set_random_seed(config.seed + fold)
    network = model.build()
    # small models, few epochs: XLA compilation would cost more than it saves
    network.compile(optimizer=loop.optimizer(cfg.optimizer, cfg.learning_rate), loss="mse", jit_compile=False)
    fit_inputs, held_inputs = model.inputs(train), model.inputs(held)
    done, seconds = 0, 0.0
    for budget in epochs:
        started = time.perf_counter()
        network.fit(fit_inputs, fit_inputs, initial_epoch=done, epochs=budget, batch_size=batch, shuffle=True,
                    verbose=0)
        seconds += time.perf_counter() - started
        done = budget
        loss = model.loss(network, held_inputs)
        auc_roc, auc_pr = common.auc(y_held, loss)
        yield {"fold": fold, "model": model.key, "label": model.label, "epochs": budget, "auc_roc": auc_roc,
               "auc_pr": auc_pr, "seconds": seconds, "parameters": int(network.count_params())}, loss
    keras.backend.clear_session(free_memory=True)


# ---------------------------------------------------------------- the page


def skipped(config: Config, paths: Paths) -> str:
    return "\n".join([
        f"# Architecture comparison: {paths.slug}", "",
        f"Skipped: the training rows of `{paths.slug}` (regime `{config.regime}`) have no labeled "
        "anomalies, so the comparison has no ground truth. AUC-ROC and AUC-PR need both normal and "
        "anomalous rows; a competition with labels, or a held-out class of your own, makes it possible.", ""])


def page(config: Config, paths: Paths, result: Comparison, y: np.ndarray, cut: float) -> str:
    """``compare.md``: the setup, the table by architecture and budget, the best, and the figures.

    ``cut`` is the loss figure's threshold: the 99th percentile of the evaluated normal rows' losses.
    """
    cfg, best, used = config.memae, result.best, result.used
    width = deep_width(config)
    caught = float(np.mean(result.loss[result.evaluated][y[result.evaluated] == 1] >= cut))
    lines = [
        f"# Architecture comparison: {paths.slug}", "",
        f"Four autoencoders trained on the same folds' normal training rows (rows not labeled anomalous) and "
        f"scored on each fold's held-out rows by reconstruction error (mean squared error per row), after "
        f"{', '.join(map(str, result.epochs))} epochs of training (one run continued from budget to budget). "
        f"{len(used)} of {result.fold_count} folds ({len(result.evaluated)} held-out rows, prevalence "
        f"{result.prevalence:.3f}: the AUC-PR of chance); optimizer `{cfg.optimizer}`, learning rate "
        f"{cfg.learning_rate:g}, batch size {', '.join(map(str, result.batches))}, seed {config.seed}. Values are "
        "means over the folds (± the standard deviation between folds).", "",
        "- **plain AE**: one hidden layer, the code of `memae.latent` units;",
        f"- **deep AE**: three hidden layers ({width}, {cfg.latent}, {width} units): the MemAE without its memory;",
        f"- **{result.models[2].label}**: " + (
            "2-D convolutions over the features laid out as a square image (pixels preprocessing dropped are 0)"
            if result.layout else "1-D convolutions over the feature vector (the features do not form a square image)")
        + ", two conv + max-pool stages down and two transposed convolutions up;",
        f"- **MemAE**: the pipeline's memory-augmented autoencoder (`memae.*` of the config; memory size "
        f"{cfg.memory_size}).", "",
        "The same numbers, with the standard deviations, are in [compare.csv](compare.csv).", "",
    ]
    lines += _table(result)
    lines += [
        "",
        f"Best: **{best['label']}** after {int(best['epochs'])} epochs (highest mean AUC-PR)." + _conv_note(result), "",
        "## Figures", "",
        *plots.figure_section("compare_auc.png", FIGURES["compare_auc.png"],
                              "Each point is the mean over the folds; the grey lines are chance (AUC-ROC 0.5; AUC-PR "
                              "the prevalence)."),
        *plots.figure_section("compare_loss.png", FIGURES["compare_loss.png"],
                              f"Reconstruction loss of every held-out row of the {len(used)} folds under the "
                              f"{best['label']} after {int(best['epochs'])} epochs; the dashed line is the 99th "
                              f"percentile of the normal rows' losses ({cut:.4g}), above which lie {caught:.1%} of "
                              "the anomalous rows."),
    ]
    return "\n".join(lines)


def _table(result: Comparison) -> list[str]:
    """The Markdown table: mean AUCs (± std between folds when there are several), seconds, parameters."""
    several = len(result.used) > 1

    def spread(value: float, std: float) -> str:
        return plots.number(value) + (f" ± {std:.3f}" if several and not math.isnan(std) else "")

    best = (result.best["model"], result.best["epochs"])
    lines = ["| model | epochs | AUC-ROC | AUC-PR | seconds | parameters |", "|---|---:|---:|---:|---:|---:|"]
    for row in result.table.itertuples(index=False):
        mark = " **best**" if (row.model, row.epochs) == best else ""
        lines.append(f"| {row.label}{mark} | {row.epochs} | {spread(row.auc_roc, row.auc_roc_std)} | "
                     f"{spread(row.auc_pr, row.auc_pr_std)} | {row.seconds:.1f} | {row.parameters:,} |")
    return lines


def _conv_note(result: Comparison) -> str:
    """How the convolutional AE fared against the deep AE at the last budget, beside the founding study."""
    final = result.table[result.table["epochs"] == result.epochs[-1]].set_index("model")
    if not {"conv", "deep"} <= set(final.index):
        return ""
    conv, deep = final.at["conv", "auc_pr"], final.at["deep", "auc_pr"]
    worse = conv < deep
    return (f" After {result.epochs[-1]} epochs the convolutional AE is "
            + ("**worse** than the deep AE at telling anomalies apart (AUC-PR "
               if worse else "no worse than the deep AE here (AUC-PR ")
            + f"{conv:.3f} vs {deep:.3f})"
            + ("; the founding study found the same: it generalises well enough to reconstruct the anomalies too."
               if worse else "; the founding study found it worse on images, where it generalises well enough to "
               "reconstruct the anomalies too."))


# ---------------------------------------------------------------- the figures


def _auc_figure(result: Comparison, path: Path, written: list[Path]) -> None:
    table, epochs, folds, prevalence = result.table, result.epochs, len(result.used), result.prevalence
    figure, panels = plots.pyplot().subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    figure.suptitle(f"Anomaly detection by training epochs: mean over {folds} held-out fold{'s' if folds > 1 else ''}"
                    + (" (band: ± std between folds)" if folds > 1 else ""))
    for axes, key, title, chance, chance_label in (
        (panels[0], "auc_roc", "AUC-ROC", 0.5, "chance (0.5)"),
        (panels[1], "auc_pr", "AUC-PR", prevalence, f"chance (prevalence {prevalence:.3f})"),
    ):
        for model, group in table.groupby("model", sort=False):
            group = group.sort_values("epochs")
            axes.plot(group["epochs"], group[key], "o-", lw=2, ms=6, color=COLORS_BY_MODEL[model],
                      label=group["label"].iloc[0])
            spread = group[f"{key}_std"].fillna(0.0)
            if folds > 1:
                axes.fill_between(group["epochs"], group[key] - spread, group[key] + spread,
                                  color=COLORS_BY_MODEL[model], alpha=0.12, lw=0)
        axes.axhline(chance, color=COLORS["chance"], ls="--", lw=1.2, label=chance_label)
        axes.set_title(title)
        axes.set_xlabel("training epochs")
        axes.set_ylabel(f"{title} on held-out rows")
        axes.set_xticks(list(epochs))
        lowest = float((table[key] - table[f"{key}_std"].fillna(0.0)).min()) if folds > 1 else float(table[key].min())
        axes.set_ylim(max(0.0, min(chance, lowest) - 0.05), 1.02)
        axes.grid(alpha=0.3)
    handles, labels = panels[0].get_legend_handles_labels()
    extra = panels[1].get_legend_handles_labels()  # the AUC-PR panel adds only its own chance line
    handles, labels = handles + extra[0][-1:], labels + extra[1][-1:]
    figure.legend(handles, labels, loc="outside lower center", ncol=3, fontsize="small", frameon=False)
    plots.save("compare", path, figure, written)


def _loss_figure(result: Comparison, y: np.ndarray, path: Path, written: list[Path]) -> float:
    """Every evaluated row's loss under the best model; returns the threshold drawn (99th percentile of normal)."""
    best, evaluated = result.best, result.evaluated
    values, labels = result.loss[evaluated], y[evaluated]
    cut = float(np.quantile(values[labels == 0], 0.99))
    figure, axes = plots.figure(f"Per-sample reconstruction loss of the best model: {best['label']} after "
                                f"{int(best['epochs'])} epochs\nheld-out rows: AUC-ROC {best['auc_roc']:.3f}, "
                                f"AUC-PR {best['auc_pr']:.3f}", "sample index (training row, held-out rows only)",
                                "reconstruction loss (MSE)", size=(9, 4.6))
    size = 10 if len(values) <= 5000 else 3
    for value, color, name in ((0, COLORS["normal"], "normal"), (1, COLORS["anomalous"], "anomalous")):
        mask = labels == value
        axes.scatter(evaluated[mask], values[mask], s=size, color=color, alpha=0.6, lw=0, rasterized=True,
                     label=f"{name} (y = {value}): {int(mask.sum())} rows")
    axes.axhline(cut, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"threshold: 99th percentile of normal losses = {cut:.4g}")
    if plots.skewed(values):
        axes.set_yscale("log")
        axes.set_ylabel("reconstruction loss (MSE, log scale)")
    plots.legend(axes, 3, markerscale=2 if size == 10 else 3)
    plots.save("compare", path, figure, written)
    return cut
