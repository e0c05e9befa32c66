"""The finetune stage: DevNet heads (and the other candidates) on the frozen fold MemAEs.

Reads the features, the folds and each fold's MemAE. For every fold the
candidates (:mod:`memdev.models.candidates`) are fitted on the fold's
training rows and score its held-out rows, so every training row gets an
honest out-of-fold score (the folds' DevNet heads are trained together, as
their MemAEs were). The competition's own metric on those scores picks
the candidate and the comparator threshold. Writes each fold's models,
``oof.parquet`` and ``cv.json`` (:class:`~memdev.training.summary.CVSummary`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from memdev import manifest, progress
from memdev.config import Config
from memdev.evaluation import metrics, threshold
from memdev.features import preprocess
from memdev.models.candidates import FoldModels, blend, boosted, fitted_by, stack_inputs
from memdev.models.devnet import fit_heads
from memdev.models.memae import MemAEDetector, as_stacked
from memdev.models.stacked import StackedMemAE
from memdev.paths import Paths
from memdev.training import folds as folds_io
from memdev.training import stamps
from memdev.training.summary import CVSummary, save_oof

log = logging.getLogger(__name__)


def run(config: Config, paths: Paths) -> None:
    stamps.check(config, paths, "finetune")
    X, y, _ = preprocess.load_features(paths)
    folds = folds_io.load(paths)
    count = folds_io.count(folds)
    manifest.verify(paths, [paths.memae(k) for k in range(count)])
    memaes = [MemAEDetector.load(paths.memae(k), config.memae, config.seed + k) for k in range(count)]

    with progress.stage("finetune", count) as bar:
        result = cross_validate(config, X, y, folds, memaes,
                                lambda fold, held_out, oof: bar.advance(1, f"{len(held_out)} held-out rows scored"))
    chosen, values = select(config, y, result.oof)
    summary = summarise(config, y, folds, result.oof[chosen], chosen, values)
    summary.stamp = stamps.of(config, paths)

    manifest.record(paths, [path for fold, models in enumerate(result.folds) for path in models.save(paths, fold)])
    save_oof(paths, folds, y, result.oof)
    summary.save(paths)
    log.info(describe(config, summary))


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


def cross_validate(config: Config, X, y, folds: np.ndarray, memaes: list[MemAEDetector], on_fold=None,
                   stacked: StackedMemAE | None = None, cache: dict | None = None) -> CVResult:
    """Out-of-fold scores of every candidate, on each fold's MemAE (``memaes``, in fold order).

    The folds' DevNet heads are trained together first; then, fold by fold,
    the boosted candidates are fitted, every candidate scores the fold's
    held-out rows, and ``on_fold(fold, held_out, oof)`` is called (tuning
    reports there and may prune the trial).

    ``stacked``: the MemAEs as :class:`StackedMemAE`, if at hand. ``cache``:
    a dict kept across calls on the same X, y, folds and seed (tuning's
    trials): ``gbm`` depends on none of the tuned parameters, so its fold
    models and scores are computed once into it and reused.
    """
    names = candidates(config, y)
    fitted = fitted_by(names)
    count = folds_io.count(folds)
    train = [np.flatnonzero(folds != fold) for fold in range(count)]
    stacked = stacked or as_stacked(memaes)
    heads = [None] * count
    if "devnet" in fitted:
        heads, _ = fit_heads(memaes, X, train, [y[rows] for rows in train], config.head, config.seed, stacked)
    # the stack's MemAE inputs: every fold's in one pass
    views = stacked.features(X, train, ("latent", "error")) if "stack" in fitted else [None] * count
    cache = {} if cache is None else cache
    oof = {name: np.zeros(len(y)) for name in fitted}
    result = CVResult(oof)
    with threadpool_limits(config.threads.boosting or None, user_api="openmp"):
        for fold in range(count):
            held_out = np.flatnonzero(folds == fold)
            models = FoldModels(memaes[fold], heads[fold])
            if "gbm" in fitted:
                if ("gbm", fold) not in cache:
                    gbm = boosted(config.seed).fit(X[train[fold]], y[train[fold]])
                    cache["gbm", fold] = gbm, gbm.predict_proba(X[held_out])[:, 1]
                models.gbm, oof["gbm"][held_out] = cache["gbm", fold]
            if "stack" in fitted:
                models.stack = boosted(config.seed).fit(stack_inputs(X[train[fold]], views[fold]), y[train[fold]])
                views[fold] = None  # done with this fold's views
            for name, scores in models.score(X, [n for n in fitted if n != "gbm"], held_out).items():
                oof[name][held_out] = scores
            result.folds.append(models)
            if on_fold:
                on_fold(fold, held_out, oof)
    if "blend" in names:
        oof["blend"] = blend(oof["devnet"], oof["stack"])
    return result


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


def summarise(config: Config, y, folds, scores, chosen: str, values: dict[str, float]) -> CVSummary:
    """The threshold, CV metric, the full metrics table and the per-fold spread of the chosen candidate."""
    cut = threshold.choose(config, scores, y)
    summary = CVSummary(model=chosen, metric=config.metric, regime=config.regime, value=None, threshold=cut,
                        candidates=values)
    summary.score_quantiles = {str(q): float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99)}
    if config.labeled and np.any(y):
        labels = cut.apply(scores)
        summary.value = cv_score(config, y, scores)
        summary.metrics = metrics.evaluate(y, scores, labels)
        summary.per_fold = [
            cv_score(config, y[folds == k], scores[folds == k]) if np.any(y[folds == k]) else None
            for k in range(folds_io.count(folds))
        ]
    return summary


def describe(config: Config, summary: CVSummary) -> str:
    """The CV table as ``make train`` prints it."""
    cut = summary.threshold
    lines = [f"cross-validation ({config.folds} folds, regime {config.regime}): model {summary.model}"]
    if summary.candidates:
        values = ", ".join(f"{name} {value:.4f}" for name, value in summary.candidates.items())
        lines.append(f"  CV {config.metric}: {values}")
    if summary.value is None:
        lines.append(f"  no labels: no CV metric; threshold from strategy {cut.strategy} = {cut.value:.6g} "
                     f"(calls {cut.rate:.1%} of training rows anomalous)")
        return "\n".join(lines)
    lines.append(metrics.table({"out-of-fold": summary.metrics}))
    spread = [v for v in summary.per_fold if v is not None]
    lines.append(f"per-fold {config.metric}: " + ", ".join(f"{v:.4f}" for v in spread)
                 + f" (std {np.std(spread):.4f})")
    lines.append(f"threshold: {cut.strategy} -> calls {cut.rate:.2%} of rows anomalous")
    lines.append("verdict: " + metrics.verdict(summary.metrics, config.metric))
    return "\n".join(lines)
