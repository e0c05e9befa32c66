"""The finetune stage: DevNet heads on the frozen fold encoders, cross-validated.

For every fold, the candidates below are fitted on the fold's training rows
and score its held-out rows, so every training row gets an honest
out-of-fold score. The competition's own metric on those scores picks the
candidate and the comparator threshold.

Candidates:

``memae``
    the MemAE reconstruction error (every regime; the only one without labels);
``devnet``
    the DevNet head on the frozen MemAE (``full`` and ``weak``);
``gbm``
    a gradient-boosted classifier on the features alone, the strongest simple
    model, so the pipeline is never worse than it on CV (``full`` and
    ``weak``, unless ``stacking: off``);
``stack``
    the same classifier on the features plus the MemAE's latent code and
    reconstruction error (``full`` and ``weak``, unless ``stacking: off``);
``blend``
    the rank average of ``devnet`` and ``stack``.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier

from . import atomic, manifest, metrics, preprocess, threshold
from .config import Config
from .devnet import DevNetHead, scorer
from .memae import MemAEDetector, predict_rows
from .paths import Paths


@dataclass
class FoldModels:
    """What one fold fitted; ``score`` applies it to any rows."""

    memae: MemAEDetector
    devnet: keras.Model | None = None
    gbm: HistGradientBoostingClassifier | None = None
    stack: HistGradientBoostingClassifier | None = None

    def score(self, X: np.ndarray, names: list[str], rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Scores of ``X[rows]`` (all rows by default), streamed batch by batch where a model allows.

        The DevNet model already runs the frozen MemAE: where it can, one pass
        returns its score and the MemAE's outputs together (``devnet.scorer``).
        """
        views = ("latent", "error") if "stack" in names else ("error",)
        fused = scorer(self.devnet, self.memae, views) if "devnet" in names else None
        if fused is not None:
            score, *computed = predict_rows(fused, X, rows)
            parts = dict(zip(views, computed))
            out = {"memae": parts["error"][:, 0], "devnet": score[:, 0]}
        else:
            parts = self.memae.features(X, rows, views)
            out = {"memae": parts["error"][:, 0]}
            if "devnet" in names:
                out["devnet"] = predict_rows(self.devnet, X, rows)[0][:, 0]
        if "gbm" in names:
            out["gbm"] = self.gbm.predict_proba(X if rows is None else X[rows])[:, 1]
        if "stack" in names:
            out["stack"] = self.stack.predict_proba(stack_inputs(X if rows is None else X[rows], parts))[:, 1]
        return out


@dataclass
class CVResult:
    oof: dict[str, np.ndarray]
    folds: list[FoldModels] = field(default_factory=list)


def candidates(config: Config, y: np.ndarray) -> list[str]:
    if not config.labeled or not np.any(y):
        return ["memae"]
    names = ["memae", "devnet"]
    if config.stacking != "off":
        names += ["gbm", "stack", "blend"]
    return names


def boosted(seed: int) -> HistGradientBoostingClassifier:
    # L2 and small trees: with a few labeled anomalies (weak regime) the
    # defaults fit them too closely; this setting raised CV on bank-marketing,
    # bank-marketing-weak and thyroid (BENCHMARKS.md)
    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=10,
                                          l2_regularization=1.0, random_state=seed)


def stack_inputs(X: np.ndarray, parts: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([np.asarray(X), parts["latent"], parts["error"]], axis=1)


def fit_fold(config: Config, memae: MemAEDetector, X: np.ndarray, y: np.ndarray, names: list[str],
             rows: np.ndarray | None = None) -> FoldModels:
    """Fit the candidates on ``X[rows]`` (all rows by default); ``y`` holds those rows' labels."""
    models = FoldModels(memae)
    if "devnet" in names:
        models.devnet = DevNetHead(config.head, seed=config.seed).fit(memae, X, y, rows).model_
    if "gbm" in names:
        models.gbm = boosted(config.seed).fit(X if rows is None else X[rows], y)
    if "stack" in names:
        models.stack = boosted(config.seed).fit(stack_inputs(X if rows is None else X[rows], memae.features(X, rows)), y)
    return models


def cross_validate(config: Config, X, y, folds: np.ndarray, memaes, on_fold=None) -> CVResult:
    """Out-of-fold scores of every candidate; ``memaes`` yields (fold, rows, MemAE)."""
    names = candidates(config, y)
    fitted = [n for n in names if n != "blend"]
    oof = {name: np.zeros(len(y)) for name in fitted}
    result = CVResult(oof)
    for fold, _, memae in memaes:
        train = np.flatnonzero(folds != fold)
        held_out = np.flatnonzero(folds == fold)
        models = fit_fold(config, memae, X, y[train], fitted, train)
        for name, scores in models.score(X, fitted, held_out).items():
            oof[name][held_out] = scores
        result.folds.append(models)
        if on_fold:
            on_fold(fold, held_out, oof)
    if "blend" in names:
        oof["blend"] = blend(oof["devnet"], oof["stack"])
    return result


def blend(*scores: np.ndarray) -> np.ndarray:
    return np.mean([rankdata(s) / len(s) for s in scores], axis=0)


def cv_score(config: Config, y: np.ndarray, scores: np.ndarray) -> float:
    """The competition's metric on out-of-fold scores (labels via the threshold strategy)."""
    labels = threshold.choose(config, scores, y).apply(scores) if config.metric in metrics.PRIMARY_NEEDS_LABELS else None
    return metrics.primary(config.metric, y, scores, labels)


def select(config: Config, y: np.ndarray, oof: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The candidate with the best CV metric (the only one, without labels)."""
    if not config.labeled or not np.any(y):
        return "memae", {}
    values = {name: cv_score(config, y, scores) for name, scores in oof.items()}
    if config.stacking == "on":
        return "stack", values
    return max(values, key=values.get), values


def run(config: Config, paths: Paths) -> None:
    X, y, _ = preprocess.load_features(paths)
    folds = np.load(paths.folds)
    count = int(folds.max()) + 1
    memaes = ((k, None, MemAEDetector.load(paths.memae(k), config.memae, config.seed + k)) for k in range(count))

    def progress(fold, held_out, oof):
        print(f"finetune: fold {fold + 1}/{count} done ({len(held_out)} held-out rows)", flush=True)

    result = cross_validate(config, X, y, folds, memaes, progress)
    chosen, values = select(config, y, result.oof)
    scores = result.oof[chosen]
    cut = threshold.choose(config, scores, y)
    saved = []
    for fold, models in enumerate(result.folds):
        if models.devnet is not None:
            with atomic.atomic_path(paths.head(fold)) as tmp:
                models.devnet.save(tmp)
        for name in ("gbm", "stack"):
            if getattr(models, name) is not None:
                atomic.write_bytes(paths.boosted(name, fold), pickle.dumps(getattr(models, name)))
                saved.append(paths.boosted(name, fold))
    manifest.record(paths, saved)
    oof = pd.DataFrame({"fold": folds, "y": y, **result.oof})
    with atomic.atomic_path(paths.oof) as tmp:
        oof.to_parquet(tmp, index=False)
    summary = summarise(config, y, folds, scores, cut)
    summary.update(
        model=chosen,
        candidates=values,
        threshold=cut.to_dict(),
        stamp=stamp(config, paths),
    )
    atomic.write_text(paths.cv, json.dumps(summary, indent=1))
    print(report(config, summary))


def summarise(config: Config, y, folds, scores, cut: threshold.Threshold) -> dict:
    """CV metric, the full metrics table and per-fold spread, for labeled regimes."""
    labels = cut.apply(scores) if config.submission == "label" or config.labeled else None
    summary = {"metric": config.metric, "value": None, "regime": config.regime}
    summary["score_quantiles"] = {q: float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99)}
    if config.labeled and np.any(y):
        summary["value"] = cv_score(config, y, scores)
        summary["metrics"] = metrics.evaluate(y, scores, labels)
        summary["per_fold"] = [
            cv_score(config, y[folds == k], scores[folds == k]) if np.any(y[folds == k]) else None
            for k in range(int(folds.max()) + 1)
        ]
    return summary


def report(config: Config, summary: dict) -> str:
    lines = [f"cross-validation ({config.folds} folds, regime {config.regime}): model {summary['model']}"]
    for name, value in summary["candidates"].items():
        lines.append(f"  {name:<7} CV {config.metric} = {value:.4f}")
    if summary["value"] is None:
        lines.append("  no labels: no CV metric; threshold from strategy "
                     f"{summary['threshold']['strategy']} = {summary['threshold']['value']:.6g} "
                     f"(calls {summary['threshold']['rate']:.1%} of training rows anomalous)")
        return "\n".join(lines)
    lines.append(metrics.table({"out-of-fold": summary["metrics"]}))
    spread = [v for v in summary["per_fold"] if v is not None]
    lines.append(f"per-fold {config.metric}: " + ", ".join(f"{v:.4f}" for v in spread)
                 + f" (std {np.std(spread):.4f})")
    lines.append(f"threshold: {summary['threshold']['strategy']} -> calls {summary['threshold']['rate']:.2%} of rows anomalous")
    lines.append("verdict: " + metrics.verdict(summary["metrics"], config.metric))
    return "\n".join(lines)


def stamp(config: Config, paths: Paths) -> dict[str, str]:
    """What the models were built from; `submit` refuses to mix them with anything else."""
    return {
        "config": config.digest(),
        "transformer": manifest.digest(paths, paths.transformer),
        "x_train": manifest.digest(paths, paths.x_train),
        "x_test": manifest.digest(paths, paths.x_test),
    }
