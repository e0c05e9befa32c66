"""The founding studies, one function each, with a Markdown page and figures.

memdev grew out of small studies of autoencoder anomaly detection; each is a
thing a competitor wants to do with their own data. Every function takes the
competition's :class:`~memdev.config.Config` and :class:`~memdev.paths.Paths`,
reads only what ``make train`` wrote (features, folds, fold MemAEs,
out-of-fold scores; never a solution file) and refuses to run on models of
other features, writes under ``data/<slug>/reports/`` through
:mod:`memdev.atomic`, prints one line per file written and returns their paths.

``compare``
    plain, deep and convolutional autoencoders and the MemAE, trained on the
    same folds' normal rows, AUC-ROC / AUC-PR after 1, 5 and 10 epochs, and
    the per-sample loss plot of the best one.
``outliers``
    training rows ranked by their out-of-fold MemAE reconstruction error,
    with the features that contribute most to each row's error (label noise
    and broken rows float to the top), and an image grid when the features
    form a square image.
``scorers``
    reconstruction error, nearest-centroid distance in latent space,
    memory-addressing entropy and the DevNet deviation, side by side.
``groups``
    per-group detection with the ``max_normal`` + margin threshold, for a
    column of train.csv that names each row's group.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from . import atomic, manifest, memae, metrics, preprocess, threshold
from .config import Config
from .errors import MemdevError
from .memae import MemAEDetector
from .paths import Paths
from .report import COLORS, _legend, _pyplot, _view
from .tables import read_csv

# every page a study writes, for the reports index
PAGES = {
    "compare.md": "Architecture comparison: plain, deep, convolutional autoencoders and MemAE by epoch budget",
    "outliers.md": "Outliers inside the training data, by MemAE reconstruction error",
    "scorers.md": "Scores beyond reconstruction error: latent distance, addressing entropy, DevNet",
    "groups.md": "Per-group detection with the max-normal + margin threshold",
}
FIGURES = {
    "compare_auc.png": "AUC-ROC and AUC-PR against training epochs, per architecture",
    "compare_loss.png": "Per-sample reconstruction loss of the best architecture",
    "outliers_grid.png": "Top outliers: original, reconstruction and squared error as images",
    "scorers_hist.png": "Each scorer's scores for normal and anomalous rows, with candidate thresholds",
    "groups.png": "Share of each group's rows flagged anomalous, and every row's score per group",
}
EPOCHS = (1, 5, 10)
COMPARE_FOLDS = 2
KMEANS_CLUSTERS = 8
KMEANS_MAX_ROWS = 100_000  # k-means centroids from at most this many normal codes per fold
MAX_GROUPS = 50
GRID_COLUMNS = 10
MODEL_LABELS = {"plain": "plain AE", "deep": "deep AE", "memae": "MemAE"}
MODEL_COLORS = {"plain": "tab:orange", "deep": "tab:green", "conv": "tab:purple", "memae": "tab:blue"}


# ---------------------------------------------------------------- shared inputs


@dataclasses.dataclass
class _Trained:
    """What ``make train`` left for the studies: features, labels, folds and out-of-fold scores."""

    X: np.ndarray
    y: np.ndarray
    folds: np.ndarray
    oof: pd.DataFrame

    @property
    def labeled(self) -> bool:
        return len(np.unique(self.y)) == 2

    def memaes(self, config: Config, paths: Paths):
        """Each fold's MemAE with the rows it held out: together they score every row once, out of fold."""
        for fold in range(int(self.folds.max()) + 1):
            yield np.flatnonzero(self.folds == fold), MemAEDetector.load(paths.memae(fold), config.memae)


def _load(paths: Paths) -> _Trained:
    """The trained pipeline's outputs; one error naming the fix when they are missing or describe other features."""
    X, y, _ = preprocess.load_features(paths)
    again = f"run `make train COMP={paths.slug}`"
    if not (paths.cv.exists() and paths.oof.exists() and paths.folds.exists()):
        raise MemdevError(f"{paths.models}: no trained models; {again} first")
    stamp = json.loads(paths.cv.read_text(encoding="utf-8")).get("stamp", {})
    if stamp.get("x_train") != manifest.digest(paths, paths.x_train):
        raise MemdevError(f"{paths.cv}: the models were trained on other features than {paths.x_train}; {again}")
    return _Trained(np.asarray(X, dtype=np.float32), np.asarray(y).astype(int), np.load(paths.folds).astype(int),
                    pd.read_parquet(paths.oof))


def feature_names(paths: Paths, count: int) -> tuple[list[str], list[str]]:
    """Names of the ``count`` features and of the transformer's input columns.

    From the fitted transformer (loaded only if its sha256 is the recorded
    one); ``feature0``... when it is missing or does not match.
    """
    try:
        transformer = manifest.load_pickle(paths, paths.transformer)
        names = [str(n) for n in transformer.get_feature_names_out()]
        inputs = [str(n) for n in getattr(transformer, "feature_names_in_", [])]
    except (MemdevError, AttributeError, ValueError):
        names, inputs = [], []
    if len(names) != count:
        return [f"feature{i}" for i in range(count)], []
    return names, inputs


def image_layout(names: list[str], inputs: list[str]) -> tuple[int, np.ndarray, list[str]] | None:
    """``(side, pixel, columns)`` when the features are the pixels of a square image, else None.

    The image is the transformer's input columns when they are a square
    number of columns and every feature is one of them (preprocessing drops
    constant pixels, so the demo's 8x8 digits keep 61 of 64); otherwise the
    features themselves when their count is a square of at least 4x4.
    ``pixel[i]`` is feature i's position in the row-major ``side`` x ``side``
    image; ``columns`` names every pixel (train.csv's columns, for raw images).
    """
    side = math.isqrt(len(inputs)) if inputs else 0
    position = {name: i for i, name in enumerate(inputs)}
    if side >= 4 and side * side == len(inputs) and all(name in position for name in names):
        return side, np.array([position[name] for name in names]), list(inputs)
    side = math.isqrt(len(names))
    if side >= 4 and side * side == len(names):
        return side, np.arange(len(names)), list(names)
    return None


def _image(values: np.ndarray, side: int, pixel: np.ndarray) -> np.ndarray:
    """Rows of feature values as ``side`` x ``side`` images; absent pixels are 0."""
    images = np.zeros((len(values), side * side), dtype=np.float32)
    images[:, pixel] = values
    return images.reshape(len(values), side, side)


def _auc(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    values = metrics.evaluate(y, scores)
    return values["auc_roc"], values["auc_pr"]


# ---------------------------------------------------------------- writing


def _write(study: str, path: Path, content, written: list[Path]) -> None:
    """Write Markdown text, a table (CSV) or a figure (PNG, then closed) atomically; record and announce it."""
    with atomic.atomic_path(path) as tmp:
        if isinstance(content, str):
            tmp.write_text(content, encoding="utf-8")
        elif isinstance(content, pd.DataFrame):
            content.to_csv(tmp, index=False, lineterminator="\n")
        else:
            try:
                content.savefig(tmp, dpi=110)
            finally:
                _pyplot().close(content)
    written.append(path)
    print(f"{study}: wrote {path}")


def _remove_stale(study: str, paths: Paths, names: tuple[str, ...], written: list[Path]) -> None:
    """A figure this run did not draw would describe older data: remove it."""
    for name in names:
        stale = paths.reports / name
        if stale.exists() and stale not in written:
            stale.unlink()
            print(f"{study}: removed stale {stale}")


def _cell(value: float, digits: int = 4) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _markdown_table(frame: pd.DataFrame, right: tuple[str, ...] = ()) -> list[str]:
    """A Markdown table of ``frame`` as text; the ``right`` columns right-aligned (numbers)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    align = "|" + "|".join("---:" if c in right else "---" for c in frame.columns) + "|"
    cells = frame.astype(object).where(frame.notna(), "")
    return [header, align] + ["| " + " | ".join(map(str, row)) + " |" for row in cells.itertuples(index=False)]


# ---------------------------------------------------------------- 1. architecture comparison


def _dense_autoencoder(n_features: int, hidden: list[int], latent: int, name: str):
    """Dense layers ``hidden`` -> code of ``latent`` (tanh, as the MemAE's) -> mirrored layers."""
    import keras
    from keras import layers

    x = keras.Input((n_features,), name="x")
    h = x
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    h = layers.Dense(latent, activation="tanh", name="code")(h)
    for units in reversed(hidden):
        h = layers.Dense(units, activation="relu")(h)
    return keras.Model(x, layers.Dense(n_features)(h), name=name)


def _conv_autoencoder(length: int, side: int | None):
    """Two conv + pooling stages down, two transposed convolutions up; flat vector in and out.

    ``side`` set: Conv2D over a ``side`` x ``side`` image (``length`` = side²);
    else Conv1D over the vector of ``length``. Both sizes are multiples of 4.
    """
    import keras
    from keras import layers

    x = keras.Input((length,), name="x")
    if side:
        conv, pool, up = layers.Conv2D, layers.MaxPooling2D, layers.Conv2DTranspose
        h = layers.Reshape((side, side, 1))(x)
    else:
        conv, pool, up = layers.Conv1D, layers.MaxPooling1D, layers.Conv1DTranspose
        h = layers.Reshape((length, 1))(x)
    h = pool(2)(conv(16, 3, padding="same", activation="relu")(h))
    h = pool(2)(conv(8, 3, padding="same", activation="relu")(h))
    h = up(8, 3, strides=2, padding="same", activation="relu")(h)
    h = up(16, 3, strides=2, padding="same", activation="relu")(h)
    h = conv(1, 3, padding="same")(h)
    return keras.Model(x, layers.Reshape((length,))(h), name="conv2d_ae" if side else "conv1d_ae")


class _Architecture:
    """One autoencoder of the comparison: how it is built and how rows are laid out for it."""

    def __init__(self, key: str, label: str, build, length: int, position: np.ndarray):
        self.key, self.label, self.build = key, label, build
        self.length, self.position = length, position  # feature i sits at position[i] of the model's input

    def inputs(self, X: np.ndarray) -> np.ndarray:
        if self.length == X.shape[1] and np.array_equal(self.position, np.arange(X.shape[1])):
            return X
        out = np.zeros((len(X), self.length), dtype=np.float32)
        out[:, self.position] = X
        return out

    def loss(self, model, inputs: np.ndarray) -> np.ndarray:
        """Per-row mean squared error over the real features (padding excluded)."""
        # called directly, chunk by chunk: no predict function to trace for every model and shape
        output = np.concatenate([np.asarray(model(inputs[i:i + 8192], training=False))
                                 for i in range(0, len(inputs), 8192)]) if len(inputs) else inputs
        return np.mean(np.square(inputs[:, self.position] - output[:, self.position]), axis=1)


def architectures(config: Config, n_features: int, layout: tuple[int, np.ndarray] | None) -> list[_Architecture]:
    """Plain AE (one hidden layer: the code), deep AE (3 hidden layers), convolutional AE, MemAE."""
    cfg = config.memae
    identity = np.arange(n_features)
    hidden = cfg.hidden[0] if cfg.hidden else max(2 * cfg.latent, 32)
    if layout:
        side, pixel, _ = layout
        padded = -(-side // 4) * 4
        position = (pixel // side) * padded + pixel % side
        conv = _Architecture("conv", f"conv2d AE ({side}x{side} image)",
                             lambda: _conv_autoencoder(padded * padded, padded), padded * padded, position)
    else:
        length = -(-n_features // 4) * 4
        conv = _Architecture("conv", "conv1d AE", lambda: _conv_autoencoder(length, None), length, identity)
    return [
        _Architecture("plain", MODEL_LABELS["plain"],
                      lambda: _dense_autoencoder(n_features, [], cfg.latent, "plain_ae"), n_features, identity),
        _Architecture("deep", MODEL_LABELS["deep"],
                      lambda: _dense_autoencoder(n_features, [hidden], cfg.latent, "deep_ae"), n_features, identity),
        conv,
        _Architecture("memae", MODEL_LABELS["memae"], lambda: memae.build(n_features, cfg), n_features, identity),
    ]


def compare(config: Config, paths: Paths, folds: int = COMPARE_FOLDS, epochs: tuple[int, ...] = EPOCHS,
            batch_size: int | None = None) -> list[Path]:
    """Plain, deep and convolutional autoencoders and the MemAE on the same folds and epoch budgets.

    Each model trains on a fold's normal training rows (not labeled
    anomalous) and scores the fold's held-out rows after each budget in
    ``epochs`` (training continues from one budget to the next). At most
    ``folds`` folds are used. ``batch_size`` defaults to the config's
    ``memae.batch_size``, made smaller on small data so an epoch is at least
    20 steps. Writes ``compare.md``, ``compare_auc.png`` and ``compare_loss.png``.
    """
    import keras

    trained = _load(paths)
    X, y, fold_of = trained.X, trained.y, trained.folds
    written: list[Path] = []
    out = paths.reports
    figures = ("compare.csv", "compare_auc.png", "compare_loss.png")
    if not trained.labeled:
        lines = [f"# Architecture comparison: {paths.slug}", "",
                 f"Skipped: the training rows of `{paths.slug}` (regime `{config.regime}`) have no labeled "
                 "anomalies, so the comparison has no ground truth. AUC-ROC and AUC-PR need both normal and "
                 "anomalous rows; a competition with labels, or a held-out class of your own, makes it possible.", ""]
        _write("compare", out / "compare.md", "\n".join(lines), written)
        _remove_stale("compare", paths, figures, written)
        return written
    epochs = tuple(sorted(set(int(e) for e in epochs)))
    count = int(fold_of.max()) + 1
    used = list(range(min(max(int(folds), 1), count)))
    names, inputs = feature_names(paths, X.shape[1])
    layout = image_layout(names, inputs)
    models = architectures(config, X.shape[1], layout)
    cfg = config.memae
    rows, losses = [], {(m.key, e): np.full(len(y), np.nan) for m in models for e in epochs}
    batches = set()
    for fold in used:
        train = np.flatnonzero((fold_of != fold) & (y == 0))
        held = np.flatnonzero(fold_of == fold)
        batch = batch_size or min(cfg.batch_size, max(16, len(train) // 20))
        batches.add(batch)
        for model_spec in models:
            keras.utils.set_random_seed(config.seed + fold)
            model = model_spec.build()
            # small models, few epochs: XLA compilation would cost more than it saves
            model.compile(optimizer=memae.optimizer(cfg.optimizer, cfg.learning_rate), loss="mse", jit_compile=False)
            fit_inputs, held_inputs = model_spec.inputs(X[train]), model_spec.inputs(X[held])
            done, seconds = 0, 0.0
            for budget in epochs:
                started = time.perf_counter()
                model.fit(fit_inputs, fit_inputs, initial_epoch=done, epochs=budget, batch_size=batch,
                          shuffle=True, verbose=0)
                seconds += time.perf_counter() - started
                done = budget
                loss = model_spec.loss(model, held_inputs)
                losses[(model_spec.key, budget)][held] = loss
                auc_roc, auc_pr = _auc(y[held], loss)
                rows.append({"fold": fold, "model": model_spec.key, "label": model_spec.label, "epochs": budget,
                             "auc_roc": auc_roc, "auc_pr": auc_pr, "seconds": seconds,
                             "parameters": int(model.count_params())})
            keras.backend.clear_session(free_memory=True)
    per_fold = pd.DataFrame(rows)
    table = (per_fold.groupby(["model", "label", "epochs"], sort=False)
             .agg(auc_roc=("auc_roc", "mean"), auc_roc_std=("auc_roc", "std"), auc_pr=("auc_pr", "mean"),
                  auc_pr_std=("auc_pr", "std"), seconds=("seconds", "mean"), parameters=("parameters", "first"))
             .reset_index())
    best = table.sort_values(["auc_pr", "auc_roc"], ascending=False, kind="stable").iloc[0]
    evaluated = np.flatnonzero(np.isin(fold_of, used))
    prevalence = float(y[evaluated].mean())

    _write("compare", out / "compare.csv", table, written)
    _compare_auc(table, epochs, prevalence, len(used), out / "compare_auc.png", written)
    best_loss = losses[(best["model"], int(best["epochs"]))]
    cut = _compare_loss(best_loss, y, evaluated, best, out / "compare_loss.png", written)

    caught = float(np.mean(best_loss[evaluated][y[evaluated] == 1] >= cut))
    lines = [
        f"# Architecture comparison: {paths.slug}", "",
        f"Four autoencoders trained on the same folds' normal training rows (rows not labeled anomalous) and "
        f"scored on each fold's held-out rows by reconstruction error (mean squared error per row), after "
        f"{', '.join(map(str, epochs))} epochs of training (one run continued from budget to budget). "
        f"{len(used)} of {count} folds ({len(evaluated)} held-out rows, prevalence {prevalence:.3f}: the AUC-PR "
        f"of chance); optimizer `{cfg.optimizer}`, learning rate {cfg.learning_rate:g}, batch size "
        f"{', '.join(map(str, sorted(batches)))}, seed {config.seed}. Values are means over the folds "
        "(± the standard deviation between folds).", "",
        "- **plain AE**: one hidden layer, the code of `memae.latent` units;",
        f"- **deep AE**: three hidden layers ({cfg.hidden[0] if cfg.hidden else max(2 * cfg.latent, 32)}, "
        f"{cfg.latent}, {cfg.hidden[0] if cfg.hidden else max(2 * cfg.latent, 32)} units): the MemAE without its memory;",
        f"- **{models[2].label}**: " + (
            "2-D convolutions over the features laid out as a square image (pixels preprocessing dropped are 0)"
            if layout else "1-D convolutions over the feature vector (the features do not form a square image)")
        + ", two conv + max-pool stages down and two transposed convolutions up;",
        f"- **MemAE**: the pipeline's memory-augmented autoencoder (`memae.*` of the config; memory size "
        f"{cfg.memory_size}).", "",
        "The same numbers, with the standard deviations, are in [compare.csv](compare.csv).", "",
        "| model | epochs | AUC-ROC | AUC-PR | seconds | parameters |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in table.itertuples(index=False):
        spread = lambda v, s: _cell(v) + (f" ± {s:.3f}" if len(used) > 1 and not math.isnan(s) else "")
        mark = " **best**" if (row.model, row.epochs) == (best["model"], best["epochs"]) else ""
        lines.append(f"| {row.label}{mark} | {row.epochs} | {spread(row.auc_roc, row.auc_roc_std)} | "
                     f"{spread(row.auc_pr, row.auc_pr_std)} | {row.seconds:.1f} | {row.parameters:,} |")
    final = table[table["epochs"] == epochs[-1]].set_index("model")
    conv_note = ""
    if {"conv", "deep"} <= set(final.index):
        worse = final.at["conv", "auc_pr"] < final.at["deep", "auc_pr"]
        conv_note = (f" After {epochs[-1]} epochs the convolutional AE is "
                     + ("**worse** than the deep AE at telling anomalies apart (AUC-PR "
                        if worse else "no worse than the deep AE here (AUC-PR ")
                     + f"{final.at['conv', 'auc_pr']:.3f} vs {final.at['deep', 'auc_pr']:.3f})"
                     + ("; the founding study found the same: it generalises well enough to reconstruct the "
                        "anomalies too." if worse else "; the founding study found it worse on images, where it "
                        "generalises well enough to reconstruct the anomalies too."))
    lines += [
        "",
        f"Best: **{best['label']}** after {int(best['epochs'])} epochs (highest mean AUC-PR)." + conv_note, "",
        "## Figures", "",
        f"### {FIGURES['compare_auc.png']}", "", f"![{FIGURES['compare_auc.png']}](compare_auc.png)", "",
        "Each point is the mean over the folds; the grey lines are chance (AUC-ROC 0.5; AUC-PR the prevalence).", "",
        f"### {FIGURES['compare_loss.png']}", "", f"![{FIGURES['compare_loss.png']}](compare_loss.png)", "",
        f"Reconstruction loss of every held-out row of the {len(used)} folds under the {best['label']} after "
        f"{int(best['epochs'])} epochs; the dashed line is the 99th percentile of the normal rows' losses "
        f"({cut:.4g}), above which lie {caught:.1%} of the anomalous rows.", "",
    ]
    _write("compare", out / "compare.md", "\n".join(lines), written)
    return written


def _compare_auc(table: pd.DataFrame, epochs, prevalence: float, folds: int, path: Path, written: list[Path]) -> None:
    plt = _pyplot()
    figure, panels = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
    figure.suptitle(f"Anomaly detection by training epochs: mean over {folds} held-out fold{'s' if folds > 1 else ''}"
                    + (" (band: ± std between folds)" if folds > 1 else ""))
    for axes, key, title, chance, chance_label in (
        (panels[0], "auc_roc", "AUC-ROC", 0.5, "chance (0.5)"),
        (panels[1], "auc_pr", "AUC-PR", prevalence, f"chance (prevalence {prevalence:.3f})"),
    ):
        for model, group in table.groupby("model", sort=False):
            group = group.sort_values("epochs")
            axes.plot(group["epochs"], group[key], "o-", lw=2, ms=6, color=MODEL_COLORS[model],
                      label=group["label"].iloc[0])
            spread = group[f"{key}_std"].fillna(0.0)
            if folds > 1:
                axes.fill_between(group["epochs"], group[key] - spread, group[key] + spread,
                                  color=MODEL_COLORS[model], alpha=0.12, lw=0)
        axes.axhline(chance, color=COLORS["chance"], ls="--", lw=1.2, label=chance_label)
        axes.set_title(title)
        axes.set_xlabel("training epochs")
        axes.set_ylabel(f"{title} on held-out rows")
        axes.set_xticks(list(epochs))
        lowest = float((table[key] - table[f"{key}_std"].fillna(0.0)).min()) if folds > 1 else float(table[key].min())
        axes.set_ylim(max(0.0, min(chance, lowest) - 0.05), 1.02)
        axes.grid(alpha=0.3)
    handles, labels = panels[0].get_legend_handles_labels()
    extra = panels[1].get_legend_handles_labels()
    handles, labels = handles + extra[0][-1:], labels + extra[1][-1:]
    figure.legend(handles, labels, loc="outside lower center", ncol=3, fontsize="small", frameon=False)
    _write("compare", path, figure, written)


def _compare_loss(loss: np.ndarray, y: np.ndarray, evaluated: np.ndarray, best, path: Path, written: list[Path]) -> float:
    plt = _pyplot()
    values, labels = loss[evaluated], y[evaluated]
    cut = float(np.quantile(values[labels == 0], 0.99))
    figure, axes = plt.subplots(figsize=(9, 4.6), layout="constrained")
    axes.set_title(f"Per-sample reconstruction loss of the best model: {best['label']} after {int(best['epochs'])} "
                   f"epochs\nheld-out rows: AUC-ROC {best['auc_roc']:.3f}, AUC-PR {best['auc_pr']:.3f}")
    axes.set_xlabel("sample index (training row, held-out rows only)")
    axes.set_ylabel("reconstruction loss (MSE)")
    axes.grid(alpha=0.3)
    size = 10 if len(values) <= 5000 else 3
    for value, color, name in ((0, COLORS["normal"], "normal"), (1, COLORS["anomalous"], "anomalous")):
        mask = labels == value
        axes.scatter(evaluated[mask], values[mask], s=size, color=color, alpha=0.6, lw=0, rasterized=True,
                     label=f"{name} (y = {value}): {int(mask.sum())} rows")
    axes.axhline(cut, color=COLORS["threshold"], ls="--", lw=1.5,
                 label=f"threshold: 99th percentile of normal losses = {cut:.4g}")
    positive = values[values > 0]
    if len(positive) and np.quantile(positive, 0.999) / np.median(positive) > 20:
        axes.set_yscale("log")
        axes.set_ylabel("reconstruction loss (MSE, log scale)")
    _legend(axes, 3, markerscale=2 if size == 10 else 3)
    _write("compare", path, figure, written)
    return cut


# ---------------------------------------------------------------- 2. outliers inside the training data


def outliers(config: Config, paths: Paths, k: int = 20) -> list[Path]:
    """The ``k`` training rows with the highest MemAE reconstruction error, and why.

    Each row's score is the out-of-fold error of ``make train`` (the fold
    MemAE that held the row out). Writes ``outliers.csv`` (row, id, score,
    label and the 3 features contributing most to the row's error),
    ``outliers.md`` and, for image-shaped features, ``outliers_grid.png``.
    """
    trained = _load(paths)
    X, y, labeled = trained.X, trained.y, trained.labeled
    written: list[Path] = []
    out = paths.reports
    scores = trained.oof["memae"].to_numpy(dtype=float)
    k = max(1, min(int(k), len(y)))
    top = np.argsort(-scores, kind="stable")[:k]
    reconstruction = np.zeros((k, X.shape[1]), dtype=np.float32)
    for rows, detector in trained.memaes(config, paths):
        mine = np.isin(top, rows)
        if mine.any():
            reconstruction[mine] = detector.model_.predict(X[top[mine]], batch_size=8192, verbose=0)
    squared = np.square(X[top] - reconstruction)
    share = squared / np.maximum(squared.sum(axis=1, keepdims=True), 1e-12)
    names, inputs = feature_names(paths, X.shape[1])
    train = _train_table(config, paths, len(y))

    frame = pd.DataFrame({"rank": np.arange(1, k + 1), "row": top})
    if train is not None and config.id_column in train.columns:
        frame["id"] = train[config.id_column].iloc[top].to_numpy()
    frame["score"] = scores[top]
    frame["label"] = y[top] if labeled else pd.array([pd.NA] * k, dtype="Int8")
    leading = np.argsort(-share, axis=1, kind="stable")[:, :3]
    for j in range(min(3, X.shape[1])):
        column = leading[:, j]
        frame[f"feature_{j + 1}"] = [names[c] for c in column]
        frame[f"share_{j + 1}"] = share[np.arange(k), column]
        if train is not None:
            frame[f"value_{j + 1}"] = [train.at[train.index[r], names[c]] if names[c] in train.columns else ""
                                       for r, c in zip(top, column)]
    _write("outliers", out / "outliers.csv", frame, written)

    layout = image_layout(names, inputs)
    if layout:
        raw = None
        if train is not None and all(c in train.columns and pd.api.types.is_numeric_dtype(train[c]) for c in layout[2]):
            raw = train[layout[2]].iloc[top].to_numpy(dtype=float)
        _outlier_grid(X[top], reconstruction, raw, frame, layout, labeled, out / "outliers_grid.png", written)
    _remove_stale("outliers", paths, ("outliers_grid.png",), written)

    normal = scores[y == 0]
    p99 = float(np.quantile(normal, 0.99))
    above = int(np.sum(scores >= p99))
    lines = [
        f"# Outliers inside the training data: {paths.slug}", "",
        f"Every training row scored by its out-of-fold MemAE reconstruction error (each row by the fold MemAE "
        "of `make train` that held it out). "
        f"The {k} highest are in [outliers.csv](outliers.csv), with the three features that contribute most to "
        "each row's error (`share_*`: their share of the row's squared error; `value_*`: the raw value in "
        "train.csv where the feature is a column of it).", "",
        f"{above} rows ({above / len(y):.1%}) score at or above the 99th percentile of the "
        + ("rows labeled normal" if labeled else "rows") + f" ({p99:.4g}).", "",
    ]
    if labeled:
        hits = int(y[top].sum())
        lines += [f"Of the top {k}, {hits} are labeled anomalous ({hits / k:.0%}, against a prevalence of "
                  f"{y.mean():.1%}). The {k - hits} labeled normal are the first rows to check for label noise "
                  "or broken values.", ""]
    else:
        lines += ["There are no labels: every row at the top is a candidate anomaly, a broken row, or a rare "
                  "but valid case.", ""]
    shown = frame.copy()
    shown["score"] = shown["score"].map(lambda v: f"{v:.4g}")
    for j in range(1, 4):
        if f"share_{j}" in shown:
            shown[f"feature_{j}"] = [f"{name} ({value:.0%})" for name, value in zip(shown[f"feature_{j}"], shown[f"share_{j}"])]
            shown = shown.drop(columns=[f"share_{j}"] + ([f"value_{j}"] if f"value_{j}" in shown else []))
    lines += _markdown_table(shown, right=("rank", "row", "score", "label")) + [""]
    if (out / "outliers_grid.png") in written:
        lines += [f"## {FIGURES['outliers_grid.png']}", "", f"![{FIGURES['outliers_grid.png']}](outliers_grid.png)", "",
                  "Each column is one of the top rows: its values in train.csv as an image (when they are numbers), "
                  "the preprocessed features the MemAE sees (each column centred and scaled, so the picture differs "
                  "from the raw one), its reconstruction on the same grey scale, and the squared error per pixel "
                  "(bright: where the row is unlike the normal rows the memory holds).", ""]
    else:
        lines += ["The features do not form a square image, so there is no image grid.", ""]
    _write("outliers", out / "outliers.md", "\n".join(lines), written)
    return written


def _train_table(config: Config, paths: Paths, rows: int) -> pd.DataFrame | None:
    """train.csv, when it is there and has one row per feature row."""
    if not paths.train_csv.exists():
        return None
    train = read_csv(paths.train_csv, config.id_column)
    return train if len(train) == rows else None


def _outlier_grid(original, reconstruction, raw, frame: pd.DataFrame, layout, labeled: bool, path: Path,
                  written: list[Path]) -> None:
    """Columns: the top rows. Rows: train.csv's values (when numeric), the features, the reconstruction, the error."""
    plt = _pyplot()
    side, pixel, _ = layout
    count = min(len(frame), GRID_COLUMNS)
    images = _image(original[:count], side, pixel)
    rebuilt = _image(reconstruction[:count], side, pixel)
    error = np.square(images - rebuilt)
    panels = ([("train.csv values", raw[:count].reshape(count, side, side))] if raw is not None else []) + [
        ("features\n(preprocessed)", images), ("reconstruction", rebuilt), ("squared error", error)]
    figure, grid = plt.subplots(len(panels), count, figsize=(1.35 * count + 1.2, 1.45 * len(panels) + 1.0),
                                layout="constrained", squeeze=False)
    figure.suptitle(f"Top {count} training rows by MemAE reconstruction error ({side}x{side} features)")
    figure.supxlabel("columns: rank, id, score" + (" and label (y = 1: labeled anomalous, in red)" if labeled else "")
                     + "; features and reconstruction share a grey scale per column", fontsize="small")
    top_error = max(float(error.max()), 1e-12)
    for j in range(count):
        low = float(min(images[j].min(), rebuilt[j].min()))
        high = float(max(images[j].max(), rebuilt[j].max()))
        for i, (label, stack) in enumerate(panels):
            if label == "squared error":
                grid[i, j].imshow(stack[j], cmap="magma", vmin=0.0, vmax=top_error)
            elif label == "train.csv values":
                grid[i, j].imshow(stack[j], cmap="gray")
            else:
                grid[i, j].imshow(stack[j], cmap="gray", vmin=low, vmax=high)
            grid[i, j].set_xticks([])
            grid[i, j].set_yticks([])
        row = frame.iloc[j]
        name = f"#{int(row['rank'])}" + (f" id {row['id']}" if "id" in frame.columns else f" row {int(row['row'])}")
        anomalous = labeled and int(row["label"]) == 1
        grid[0, j].set_title(f"{name}\n{row['score']:.3g}" + (f", y = {int(row['label'])}" if labeled else ""),
                             fontsize="x-small", color=COLORS["anomalous"] if anomalous else "black")
    for i, (label, _) in enumerate(panels):
        grid[i, 0].set_ylabel(label, fontsize="small")
    _write("outliers", path, figure, written)


# ---------------------------------------------------------------- 3. scorers beyond reconstruction error


SCORERS = {
    "reconstruction": ("reconstruction error", "reconstruction error (MSE)"),
    "latent_distance": ("nearest-centroid distance in latent space", "distance to the nearest k-means centroid"),
    "addressing_entropy": ("memory-addressing entropy", "entropy of the memory addressing weights (nats)"),
    "devnet": ("DevNet deviation", "DevNet deviation score"),
}


def _addressing_entropy(detector: MemAEDetector, codes: np.ndarray, chunk: int = 65536) -> np.ndarray:
    from keras import ops

    unit = detector.model_.get_layer("memory")
    out = []
    for start in range(0, len(codes), chunk):
        weights = ops.convert_to_numpy(unit.addressing(ops.convert_to_tensor(codes[start:start + chunk])))
        out.append(-np.sum(weights * np.log(weights + memae.EPSILON), axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def scorers(config: Config, paths: Paths) -> list[Path]:
    """Reconstruction error, latent nearest-centroid distance, addressing entropy and DevNet, compared.

    All out of fold, as ``make train`` left them: each fold's MemAE scores
    the rows it held out; the k-means centroids (k = 8) come from the codes
    of that fold's normal training rows; the DevNet deviation is the
    ``devnet`` column of ``oof.parquet`` (labeled competitions only). The
    config's ``scorers`` picks which are compared. Writes ``scorers.csv``,
    ``scorers.md`` and ``scorers_hist.png``.
    """
    from sklearn.cluster import KMeans

    trained = _load(paths)
    X, y, labeled = trained.X, trained.y, trained.labeled
    written: list[Path] = []
    out = paths.reports
    scores = {name: np.zeros(len(y)) for name in ("reconstruction", "latent_distance", "addressing_entropy")}
    for held, detector in trained.memaes(config, paths):
        fit_rows = np.flatnonzero(~np.isin(np.arange(len(y)), held) & (y == 0))
        if len(fit_rows) > KMEANS_MAX_ROWS:
            fit_rows = np.sort(np.random.default_rng(config.seed).choice(fit_rows, KMEANS_MAX_ROWS, replace=False))
        codes = detector.features(X[fit_rows])["latent"]
        clusters = KMeans(min(KMEANS_CLUSTERS, len(fit_rows)), n_init=4, random_state=config.seed).fit(codes)
        parts = detector.features(X[held])
        scores["reconstruction"][held] = parts["error"][:, 0]
        scores["latent_distance"][held] = clusters.transform(parts["latent"]).min(axis=1)
        scores["addressing_entropy"][held] = _addressing_entropy(detector, parts["latent"])
    if "devnet" in trained.oof.columns:
        scores["devnet"] = trained.oof["devnet"].to_numpy(dtype=float)
    scores = {name: values for name, values in scores.items() if name in config.scorers}
    if not scores:
        raise MemdevError(f"{paths.config}: scorers lists only 'devnet', and DevNet needs labeled anomalies")

    margin = config.threshold.margin
    table = []
    for name, values in scores.items():
        normal = values[y == 0]
        cuts = _candidate_cuts(normal, margin)
        row = {"scorer": SCORERS[name][0]}
        if labeled:
            row["auc_roc"], row["auc_pr"] = _auc(y, values)
            anomalous = values[y == 1]
            for label, cut in cuts.items():
                row[f"caught {label}"] = float(np.mean(anomalous >= cut))
        else:
            for label, cut in cuts.items():
                row[f"flagged {label}"] = float(np.mean(values >= cut))
        table.append(row)
    _write("scorers", out / "scorers.csv", pd.DataFrame(table), written)
    _scorer_histograms(scores, y, labeled, margin, table, out / "scorers_hist.png", written)

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
    shown = pd.DataFrame(table).rename(columns={"auc_roc": "AUC-ROC", "auc_pr": "AUC-PR"})
    for column in shown.columns[1:]:
        shown[column] = shown[column].map(lambda v, c=column: f"{v:.4f}" if c.startswith("AUC") else f"{v:.1%}")
    if labeled:
        best = max(table, key=lambda r: r["auc_pr"])
        lines += [f"Prevalence {y.mean():.3f} (the AUC-PR of chance). An AUC-ROC below 0.5 means the scorer ranks "
                  "the rows the other way round. `caught` columns: the share of anomalous rows at or above each "
                  "candidate threshold, all set from the normal rows' scores.", ""]
        lines += _markdown_table(shown, right=tuple(shown.columns[1:]))
        lines += ["", f"Best by AUC-PR: **{best['scorer']}** ({best['auc_pr']:.3f}). The table is also in "
                  "[scorers.csv](scorers.csv).", ""]
    else:
        lines += [f"Regime `{config.regime}`: no labeled anomalies, so no AUC: the table gives the share of all "
                  "rows each candidate threshold would flag, and the histograms show where those thresholds fall.", ""]
        lines += _markdown_table(shown, right=tuple(shown.columns[1:])) + [""]
    lines += [f"## {FIGURES['scorers_hist.png']}", "", f"![{FIGURES['scorers_hist.png']}](scorers_hist.png)", "",
              "One panel per scorer: the share of " + ("normal and of anomalous rows" if labeled else "rows")
              + " in each bin, with the candidate thresholds (95th and 99th percentile of the normal rows' scores, "
              f"and the maximum normal score plus a {margin:.0%} margin, the `max_normal` strategy).", ""]
    _write("scorers", out / "scorers.md", "\n".join(lines), written)
    return written


def _candidate_cuts(normal: np.ndarray, margin: float) -> dict[str, float]:
    top = float(normal.max())
    return {
        "p95 normal": float(np.quantile(normal, 0.95)),
        "p99 normal": float(np.quantile(normal, 0.99)),
        f"max normal + {margin:.0%}": top + margin * abs(top),
    }


def _scorer_histograms(scores: dict[str, np.ndarray], y: np.ndarray, labeled: bool, margin: float,
                       table: list[dict], path: Path, written: list[Path]) -> None:
    plt = _pyplot()
    count = len(scores)
    columns = 2 if count > 1 else 1
    rows = -(-count // columns)
    figure, panels = plt.subplots(rows, columns, figsize=(5.4 * columns, 3.6 * rows + 0.6), layout="constrained",
                                  squeeze=False)
    figure.suptitle("Scores of normal and anomalous rows, out of fold" if labeled else "Scores of all rows (no labels)")
    styles = {0: ("tab:gray", ":"), 1: ("black", "--"), 2: ("tab:green", "-.")}
    for i, ((name, values), row) in enumerate(zip(scores.items(), table)):
        axes = panels[i // columns, i % columns]
        title, xlabel = SCORERS[name]
        cuts = _candidate_cuts(values[y == 0], margin)
        low, high, _ = _view(values)
        reach = high - low  # a threshold within one view-width of the bulk is drawn; farther ones are noted
        low, high, clipped = _view(values, *[c for c in cuts.values() if low - reach <= c <= high + reach])
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
        for j, (label, cut) in enumerate(cuts.items()):
            color, style = styles[j]
            if bins[0] <= cut <= bins[-1]:
                axes.axvline(cut, color=color, ls=style, lw=1.5, label=f"threshold: {label}")
            else:
                axes.plot([], [], color=color, ls=style, lw=1.5, label=f"threshold: {label}")
                off.append(f"{label} = {cut:.3g}")
        subtitle = f"AUC-ROC {row['auc_roc']:.3f}, AUC-PR {row['auc_pr']:.3f}" if labeled else ""
        axes.set_title(f"{title}" + (f"\n{subtitle}" if subtitle else ""), fontsize="medium")
        note = []
        if clipped:
            note.append(f"{clipped} rows beyond the view are counted in the edge bins")
        note += [f"off the view: threshold {text}" for text in off]
        axes.set_xlabel("\n".join([xlabel + (" (log scale)" if logx else "")] + note), fontsize="small")
        axes.set_ylabel("share of the class's rows" if labeled else "share of rows")
        axes.grid(alpha=0.3)
    for i in range(count, rows * columns):
        panels[i // columns, i % columns].set_visible(False)
    handles, labels = panels[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=5 if labeled else 4, fontsize="small", frameon=False)
    _write("scorers", path, figure, written)


# ---------------------------------------------------------------- 4. per-group detection


def groups(config: Config, paths: Paths, column: str | None = None) -> list[Path]:
    """Detection per value of ``column`` of train.csv (default: the config's ``group_column``),
    at the ``max_normal`` + margin threshold.

    The threshold is ``threshold.choose`` with strategy ``max_normal`` (the
    config's ``threshold.margin``) on the out-of-fold MemAE scores of
    ``make train``. Per group: rows, labeled anomalies, share flagged,
    precision and recall. Writes ``groups.csv``, ``groups.md`` and
    ``groups.png``.
    """
    column = column or config.group_column
    if not column:
        raise MemdevError(f"{paths.config}: no group_column to group by; set one there or pass --column")
    trained = _load(paths)
    y, labeled = trained.y, trained.labeled
    train = read_csv(paths.train_csv, config.id_column)
    if column not in train.columns:
        shown = ", ".join(map(str, train.columns[:12])) + (", ..." if len(train.columns) > 12 else "")
        raise MemdevError(f"{paths.train_csv}: has no column {column!r} to group by (columns: {shown})")
    if len(train) != len(y):
        raise MemdevError(f"{paths.train_csv}: has {len(train)} rows but the features have {len(y)}; "
                          f"run `make preprocess COMP={paths.slug}` again")
    values = train[column]
    distinct = values.nunique(dropna=True)
    if distinct > MAX_GROUPS:
        raise MemdevError(f"{paths.train_csv}: column {column!r} has {distinct} distinct values; a group report "
                          f"needs a column with at most {MAX_GROUPS} (a class, a source, a segment)")
    written: list[Path] = []
    out = paths.reports
    scores = trained.oof["memae"].to_numpy(dtype=float)
    chooser = dataclasses.replace(config, threshold=dataclasses.replace(config.threshold, strategy="max_normal"))
    cut = threshold.choose(chooser, scores, y)
    flagged = cut.apply(scores).astype(bool)

    keys = values.astype(object).where(values.notna(), "(missing)")
    order = sorted(keys.unique(), key=lambda v: (v == "(missing)", not isinstance(v, (int, float, np.number)),
                                                 v if isinstance(v, (int, float, np.number)) else str(v)))
    records = []
    for value in order + ["all rows"]:
        mask = np.ones(len(y), bool) if value == "all rows" else (keys == value).to_numpy()
        anomalies = int(y[mask].sum())
        hit = int((flagged & mask & (y == 1)).sum())
        count_flagged = int((flagged & mask).sum())
        normals = int(mask.sum()) - anomalies
        records.append({
            "group": str(value), "rows": int(mask.sum()), "labeled anomalies": anomalies,
            "flagged": count_flagged, "share flagged": count_flagged / max(int(mask.sum()), 1),
            "precision": hit / count_flagged if labeled and count_flagged else float("nan"),
            "recall": hit / anomalies if labeled and anomalies else float("nan"),
            "normals flagged": (count_flagged - hit) / normals if normals else float("nan"),
        })
    frame = pd.DataFrame(records)
    _write("groups", out / "groups.csv", frame, written)
    _groups_figure(frame.iloc[:-1], keys.astype(str), scores, y, column, cut, config.threshold.margin, labeled, config.seed,
                   out / "groups.png", written)

    _, inputs = feature_names(paths, trained.X.shape[1])
    lines = [
        f"# Per-group detection: {paths.slug}, by `{column}`", "",
        "Rows are flagged anomalous when their score reaches the `max_normal` threshold: the highest score of "
        + ("a row labeled normal" if labeled else "any training row") + f" plus a {config.threshold.margin:.0%} "
        f"margin = {cut.value:.4g}, on the out-of-fold MemAE reconstruction errors of `make train`. "
        f"It flags {cut.rate:.2%} of all training rows.", "",
    ]
    if column in inputs:
        lines += [f"Note: `{column}` is also an input feature of the models. If it encodes the label (a class "
                  "that is the anomaly), the scores leak it; a grouping column is best kept out of the features.", ""]
    if not labeled:
        lines += ["No labeled anomalies: precision and recall are blank; with every row counted as normal, the "
                  "threshold sits above every training score, so nothing in train.csv is flagged by construction. "
                  "The test rows it flags are the ones scoring beyond anything seen in training.", ""]
    shown = frame.copy()
    for key in ("share flagged", "precision", "recall", "normals flagged"):
        shown[key] = shown[key].map(lambda v: "" if isinstance(v, float) and math.isnan(v) else f"{v:.1%}")
    shown["group"] = [f"**{g}**" if g == "all rows" else g for g in shown["group"]]
    lines += _markdown_table(shown, right=tuple(shown.columns[1:])) + [""]
    lines += ["The table is also in [groups.csv](groups.csv). `precision`: labeled anomalies among the group's flagged rows; `recall`: flagged among its labeled "
              "anomalies; `normals flagged`: flagged among its rows labeled normal (false alarms).", "",
              f"![{FIGURES['groups.png']}](groups.png)", ""]
    _write("groups", out / "groups.md", "\n".join(lines), written)
    return written


def _groups_figure(frame: pd.DataFrame, keys: pd.Series, scores: np.ndarray, y: np.ndarray, column: str,
                   cut: threshold.Threshold, margin: float, labeled: bool, seed: int, path: Path,
                   written: list[Path]) -> None:
    """Top: share of each group flagged (and the share a perfect detector would flag). Bottom: every
    group's scores with the threshold, so a group far below it is visible even when nothing is flagged."""
    plt = _pyplot()
    count = len(frame)
    figure, (bars, strip) = plt.subplots(2, 1, figsize=(max(7.5, 0.6 * count + 3), 8.2), layout="constrained",
                                         sharex=True, height_ratios=(1, 1.15))
    figure.suptitle(f"Detection per `{column}` group at the max normal + margin threshold ({cut.value:.4g})")
    x = np.arange(count)
    rows = frame["rows"].to_numpy(float)
    if labeled:
        hits = (frame["recall"].fillna(0) * frame["labeled anomalies"]).to_numpy(float)
        false = frame["flagged"].to_numpy(float) - hits
        bars.bar(x, hits / rows, color=COLORS["anomalous"], label="flagged, labeled anomalous")
        bars.bar(x, false / rows, bottom=hits / rows, color=COLORS["normal"], label="flagged, labeled normal")
        bars.scatter(x, frame["labeled anomalies"] / rows, marker="_", s=700, lw=2.5, color="black", zorder=3,
                     label="labeled anomaly share of the group (a perfect detector's bar)")
    else:
        bars.bar(x, frame["share flagged"], color=COLORS["normal"], label="flagged (no labels)")
    bars.axhline(cut.rate, color=COLORS["chance"], ls="--", lw=1.2, label=f"all rows: {cut.rate:.1%} flagged")
    for i, (n, share) in enumerate(zip(frame["rows"], frame["share flagged"])):
        bars.annotate(f"{share:.0%} of {n}", (i, share), textcoords="offset points", xytext=(0, 3), ha="center",
                      fontsize="x-small")
    tallest = max(float(frame["share flagged"].max()), float((frame["labeled anomalies"] / rows).max()), cut.rate)
    bars.set_ylim(0, min(1.0, tallest) * 1.12 + 0.03)
    bars.set_ylabel("share of the group's rows flagged")
    bars.set_title("rows flagged anomalous, per group", fontsize="medium")
    bars.grid(alpha=0.3, axis="y")

    rng = np.random.default_rng(seed)
    groups = keys.to_numpy()
    for value, color, name in ((0, COLORS["normal"], "labeled normal" if labeled else "unlabeled"),
                               (1, COLORS["anomalous"], "labeled anomalous")):
        if value == 1 and not labeled:
            continue
        xs, ys = [], []
        for i, group in enumerate(frame["group"]):
            members = np.flatnonzero((groups.astype(str) == group) & (y == value))
            if len(members) > 2000:  # a readable strip, not every row of a large group
                members = rng.choice(members, 2000, replace=False)
            xs.append(i + rng.uniform(-0.3, 0.3, len(members)))
            ys.append(scores[members])
        if xs:
            strip.scatter(np.concatenate(xs), np.concatenate(ys), s=6, alpha=0.5, lw=0, color=color, rasterized=True)
            strip.plot([], [], "o", ms=6, alpha=0.7, color=color, label=f"score of a row {name}")  # legend proxy
    strip.axhline(cut.value, color=COLORS["threshold"], ls="--", lw=1.5,
                  label=f"threshold: max normal + {margin:.0%} = {cut.value:.4g}")
    positive = scores[scores > 0]
    if len(positive) and np.quantile(positive, 0.999) / np.median(positive) > 20:
        strip.set_yscale("log")
    strip.set_ylabel("out-of-fold MemAE score (reconstruction error)" + (", log scale" if strip.get_yscale() == "log" else ""))
    strip.set_title("every row's score, per group", fontsize="medium")
    strip.set_xlabel(f"{column} (group)")
    strip.grid(alpha=0.3, axis="y")
    handles, labels = bars.get_legend_handles_labels()
    more = strip.get_legend_handles_labels()
    figure.legend(handles + more[0], labels + more[1], loc="outside lower center", ncol=2, fontsize="small",
                  frameon=False)
    strip.set_xticks(x, frame["group"], rotation=45 if count > 12 else 0, ha="right" if count > 12 else "center")
    _write("groups", path, figure, written)



def run_all(config: Config, paths: Paths) -> list[Path]:
    """Every study, as ``make report`` runs them; ``groups`` only when the config names a group column."""
    written = compare(config, paths) + outliers(config, paths) + scorers(config, paths)
    if config.group_column:
        return written + groups(config, paths)
    print(f"groups: skipped (no group_column in {paths.config})")
    _remove_stale("groups", paths, ("groups.md", "groups.csv", "groups.png"), written)
    return written
