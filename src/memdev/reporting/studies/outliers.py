"""Study 2, outliers inside the training data: ``outliers.md``, ``outliers.csv`` and an image grid.

Reads the out-of-fold MemAE scores of ``make train``, the fold MemAEs and
train.csv; ranks the training rows by reconstruction error and finds the
features behind each top row's error (label noise and broken rows float to
the top); writes the ranking, the page and, when the features form a square
image, a grid of each top row beside its reconstruction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from memdev.config import Config
from memdev.ingest.tables import read_table
from memdev.paths import Paths
from memdev.reporting import plots
from memdev.reporting.plots import COLORS
from memdev.reporting.studies import common

PAGE = "outliers.md"
TITLE = "Outliers inside the training data, by MemAE reconstruction error"
FIGURES = {"outliers_grid.png": "Top outliers: original, reconstruction and squared error as images"}
GRID_COLUMNS = 10
LEADING = 3  # features named per row


def run(config: Config, paths: Paths, k: int = 20) -> list[Path]:
    """The ``k`` training rows with the highest MemAE reconstruction error, and why.

    Each row's score is the out-of-fold error of ``make train`` (the fold
    MemAE that held the row out). Writes ``outliers.csv`` (row, id, score,
    label and the 3 features contributing most to the row's error),
    ``outliers.md`` and, for image-shaped features, ``outliers_grid.png``;
    returns the paths written.
    """
    trained = common.load(config, paths)
    train = _train_table(config, paths, len(trained.y))
    names, inputs = common.feature_names(paths, trained.X.shape[1])
    written: list[Path] = []
    out = paths.reports
    top, reconstruction = _reconstruct(config, paths, trained, k)
    frame = ranking(config, trained, top, reconstruction, names, train)
    plots.write("outliers", out / "outliers.csv", frame, written)
    layout = common.image_layout(names, inputs)
    if layout:
        raw = None
        if train is not None and all(c in train.columns and pd.api.types.is_numeric_dtype(train[c]) for c in layout[2]):
            raw = train[layout[2]].iloc[top].to_numpy(dtype=float)
        _grid(trained.X[top], reconstruction, raw, frame, layout, trained.labeled, out / "outliers_grid.png", written)
    plots.remove_stale("outliers", out, FIGURES, written)
    plots.write("outliers", out / PAGE, page(paths, trained, frame, (out / "outliers_grid.png") in written), written)
    return written


def _train_table(config: Config, paths: Paths, rows: int) -> pd.DataFrame | None:
    """The train table, when it is there and has one row per feature row."""
    if not paths.train_file.exists():
        return None
    train = read_table(paths.train_file, config.id_column)
    return train if len(train) == rows else None


# ---------------------------------------------------------------- the ranking


def _reconstruct(config: Config, paths: Paths, trained: common.Trained, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest-scoring rows, and each one's reconstruction by the fold MemAE that held it out."""
    X, scores = trained.X, trained.oof["memae"].to_numpy(dtype=float)
    k = max(1, min(int(k), len(scores)))
    top = np.argsort(-scores, kind="stable")[:k]
    reconstruction = np.zeros((k, X.shape[1]), dtype=np.float32)
    for rows, detector in trained.memaes(config, paths):
        mine = np.isin(top, rows)
        if mine.any():
            reconstruction[mine] = detector.model_.predict(X[top[mine]], batch_size=8192, verbose=0)
    return top, reconstruction


def ranking(config: Config, trained: common.Trained, top: np.ndarray, reconstruction: np.ndarray,
            names: list[str], train: pd.DataFrame | None) -> pd.DataFrame:
    """One row per top row: rank, row, id, score, label, and the features with the largest share of its error.

    ``value_*`` is the feature's raw value in train.csv where it is a column there.
    """
    X, y, k = trained.X, trained.y, len(top)
    squared = np.square(X[top] - reconstruction)
    share = squared / np.maximum(squared.sum(axis=1, keepdims=True), 1e-12)
    frame = pd.DataFrame({"rank": np.arange(1, k + 1), "row": top})
    if train is not None and config.id_column in train.columns:
        frame["id"] = train[config.id_column].iloc[top].to_numpy()
    frame["score"] = trained.oof["memae"].to_numpy(dtype=float)[top]
    frame["label"] = y[top] if trained.labeled else pd.array([pd.NA] * k, dtype="Int8")
    leading = np.argsort(-share, axis=1, kind="stable")[:, :LEADING]
    for j in range(min(LEADING, X.shape[1])):
        column = leading[:, j]
        frame[f"feature_{j + 1}"] = [names[c] for c in column]
        frame[f"share_{j + 1}"] = share[np.arange(k), column]
        if train is not None:
            frame[f"value_{j + 1}"] = [train.at[train.index[r], names[c]] if names[c] in train.columns else ""
                                       for r, c in zip(top, column)]
    return frame


# ---------------------------------------------------------------- the page


def page(paths: Paths, trained: common.Trained, frame: pd.DataFrame, grid: bool) -> str:
    """``outliers.md``: how many rows stand out, the top rows with their leading features, and the grid."""
    y, labeled, k = trained.y, trained.labeled, len(frame)
    scores = trained.oof["memae"].to_numpy(dtype=float)
    p99 = float(np.quantile(scores[y == 0], 0.99))
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
        hits = int(frame["label"].sum())
        lines += [f"Of the top {k}, {hits} are labeled anomalous ({hits / k:.0%}, against a prevalence of "
                  f"{y.mean():.1%}). The {k - hits} labeled normal are the first rows to check for label noise "
                  "or broken values.", ""]
    else:
        lines += ["There are no labels: every row at the top is a candidate anomaly, a broken row, or a rare "
                  "but valid case.", ""]
    shown = frame.copy()
    shown["score"] = shown["score"].map(lambda v: f"{v:.4g}")
    for j in range(1, LEADING + 1):
        if f"share_{j}" in shown:
            shown[f"feature_{j}"] = [f"{name} ({value:.0%})"
                                     for name, value in zip(shown[f"feature_{j}"], shown[f"share_{j}"])]
            shown = shown.drop(columns=[f"share_{j}"] + ([f"value_{j}"] if f"value_{j}" in shown else []))
    lines += plots.markdown_table(shown, right=("rank", "row", "score", "label")) + [""]
    if grid:
        lines += plots.figure_section(
            "outliers_grid.png", FIGURES["outliers_grid.png"],
            "Each column is one of the top rows: its values in train.csv as an image (when they are numbers), the "
            "preprocessed features the MemAE sees (each column centred and scaled, so the picture differs from the "
            "raw one), its reconstruction on the same grey scale, and the squared error per pixel (bright: where "
            "the row is unlike the normal rows the memory holds).", level="##")
    else:
        lines += ["The features do not form a square image, so there is no image grid.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the figure


def _image(values: np.ndarray, side: int, pixel: np.ndarray) -> np.ndarray:
    """Rows of feature values as ``side`` x ``side`` images; absent pixels are 0."""
    images = np.zeros((len(values), side * side), dtype=np.float32)
    images[:, pixel] = values
    return images.reshape(len(values), side, side)


def _grid(original, reconstruction, raw, frame: pd.DataFrame, layout, labeled: bool, path: Path,
          written: list[Path]) -> None:
    """Columns: the top rows. Rows: train.csv's values (when numeric), the features, the reconstruction, the error."""
    side, pixel, _ = layout
    count = min(len(frame), GRID_COLUMNS)
    images = _image(original[:count], side, pixel)
    rebuilt = _image(reconstruction[:count], side, pixel)
    error = np.square(images - rebuilt)
    panels = ([("train.csv values", raw[:count].reshape(count, side, side))] if raw is not None else []) + [
        ("features\n(preprocessed)", images), ("reconstruction", rebuilt), ("squared error", error)]
    figure, grid = plots.pyplot().subplots(len(panels), count, figsize=(1.35 * count + 1.2, 1.45 * len(panels) + 1.0),
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
    plots.save("outliers", path, figure, written)
