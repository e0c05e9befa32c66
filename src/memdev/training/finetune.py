"""The finetune stage: DevNet heads (and the other candidates) on the frozen fold MemAEs.

Reads the features, the folds and each fold's MemAE. For every fold the
candidates (:mod:`memdev.models.candidates`) are fitted on the fold's
training rows and score its held-out rows, so every training row gets an
honest out-of-fold score. With labels, :mod:`memdev.training.selection`
picks the candidate (or a rank ensemble) and the comparator threshold on
those scores, and measures that choice by nested CV; without them,
:mod:`memdev.training.labelfree` picks the score. Writes each fold's models,
``oof.parquet`` and ``cv.json`` (:class:`~memdev.training.summary.CVSummary`).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from memdev import manifest
from memdev.config import Config
from memdev.evaluation import metrics, threshold
from memdev.features import preprocess
from memdev.models.candidates import LABEL_FREE, FoldModels, blend, fitted_by
from memdev.models.memae import MemAEDetector
from memdev.paths import Paths
from memdev.training import folds as folds_io
from memdev.training import labelfree, selection
from memdev.training.summary import CVSummary, save_oof

log = logging.getLogger(__name__)


def run(config: Config, paths: Paths) -> None:
    X, y, _ = preprocess.load_features(paths)
    folds = folds_io.load(paths)
    count = folds_io.count(folds)
    memaes = ((k, None, MemAEDetector.load(paths.memae(k), config.memae, config.seed + k)) for k in range(count))

    def progress(fold, held_out, oof):
        log.info(f"finetune: fold {fold + 1}/{count} done ({len(held_out)} held-out rows)")

    result = cross_validate(config, X, y, folds, memaes, progress)
    summary, scores = summarise(config, y, folds, result.oof, labelfree.statistics(X))
    summary.stamp = stamp(config, paths)
    if summary.model == selection.ENSEMBLE:
        result.oof[selection.ENSEMBLE] = scores

    pickles = [path for fold, models in enumerate(result.folds) for path in models.save(paths, fold)]
    manifest.record(paths, pickles)
    save_oof(paths, folds, y, result.oof)
    summary.save(paths)
    log.info(describe(config, summary))


@dataclass
class CVResult:
    oof: dict[str, np.ndarray]
    folds: list[FoldModels] = field(default_factory=list)


def candidates(config: Config, y: np.ndarray) -> list[str]:
    """The candidates every fold fits: the label-free ones only, unless a supervised model can be cross-validated."""
    if not folds_io.supervised(config, y):
        return list(LABEL_FREE)
    names = ["memae", "devnet"]
    if config.stacking != "off":
        names += ["gbm", "stack", "blend"]
    return names + ["iforest", "lof"]


def cross_validate(config: Config, X, y, folds: np.ndarray, memaes, on_fold=None) -> CVResult:
    """Out-of-fold scores of every candidate; ``memaes`` yields (fold, rows, MemAE).

    ``on_fold(fold, held_out, oof)`` is called after each fold (tuning
    reports there and may prune the trial).
    """
    names = candidates(config, y)
    fitted = fitted_by(names)
    oof = {name: np.zeros(len(y)) for name in fitted}
    result = CVResult(oof)
    for fold, _, memae in memaes:
        train = np.flatnonzero(folds != fold)
        held_out = np.flatnonzero(folds == fold)
        models = FoldModels.fit(config, memae, X, y[train], fitted, train)
        for name, scores in models.score(X, fitted, held_out).items():
            oof[name][held_out] = scores
        result.folds.append(models)
        if on_fold:
            on_fold(fold, held_out, oof)
    if "blend" in names:
        oof["blend"] = blend(oof["devnet"], oof["stack"])
    return result


def select(config: Config, y: np.ndarray, oof: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """A quick pick: the candidate with the best CV metric on these scores, cut chosen on them too (optimistic).

    For a tuning trial's intermediate reports; :func:`summarise` makes the real choice.
    """
    if not folds_io.supervised(config, y):
        return next(iter(labelfree.choose(oof, {}).weights)), {}
    values = {name: selection.value(config, y, scores) for name, scores in oof.items()}
    if config.stacking == "on":
        return "stack", values
    return max(values, key=values.get), values


def summarise(config: Config, y, folds, oof: dict[str, np.ndarray],
              stats: dict[str, float] | None = None) -> tuple[CVSummary, np.ndarray]:
    """What to submit, its threshold and its nested CV; and the chosen model's out-of-fold scores.

    ``stats`` describe the features for the label-free rule (:func:`memdev.training.labelfree.statistics`).
    """
    if not folds_io.supervised(config, y):
        return label_free(config, y, folds, oof, stats or {})
    nested = selection.nested(config, y, folds, oof)
    choice, values, ranked = selection.select(config, y, folds, oof)
    scores = ranked if choice.model == selection.ENSEMBLE else oof[choice.model]
    summary = CVSummary(model=choice.model, metric=config.metric, regime=config.regime, value=nested.value,
                        threshold=threshold.choose(config, scores, y), candidates=values, metrics=nested.metrics,
                        per_fold=nested.per_fold, chosen_per_fold=nested.chosen,
                        optimistic=selection.value(config, y, scores), weights=choice.weights)
    summary.score_quantiles = {str(q): float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99)}
    return summary, scores


def label_free(config: Config, y, folds, oof: dict[str, np.ndarray], stats: dict[str, float]) -> tuple[CVSummary, np.ndarray]:
    """The label-free rule's choice; its threshold from a strategy that needs no labels ('quantile' by default)."""
    rule = labelfree.choose({name: oof[name] for name in LABEL_FREE if name in oof}, stats)
    model = next(iter(rule.weights)) if len(rule.weights) == 1 else selection.ENSEMBLE
    ranks = {name: selection.fold_ranks(oof[name], folds) for name in rule.weights}
    scores = oof[model] if model != selection.ENSEMBLE else selection.Choice(model, rule.weights).score(ranks, np.arange(len(y)))
    if config.labeled and not config.threshold.strategy:  # 'f1', the labeled default, needs labeled anomalies
        config = config.with_params({"threshold.strategy": "quantile"})
    summary = CVSummary(model=model, metric=config.metric, regime=config.regime, value=None,
                        threshold=threshold.choose(config, scores, y), weights=rule.weights, reason=rule.reason)
    summary.score_quantiles = {str(q): float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99)}
    return summary, scores


def describe(config: Config, summary: CVSummary) -> str:
    """The CV table as ``make train`` prints it."""
    cut = summary.threshold
    count = len(summary.per_fold) or config.folds
    lines = [f"cross-validation ({count} folds, regime {config.regime}): model {summary.model}"
             + (f" ({weights(summary.weights)})" if summary.model == selection.ENSEMBLE else "")]
    if summary.value is None:
        lines.append(f"  {summary.reason}")
        lines.append(f"  no labels: no CV metric; threshold from strategy {cut.strategy} = {cut.value:.6g} "
                     f"(calls {cut.rate:.1%} of training rows anomalous)")
        return "\n".join(lines)
    lines.append(f"  each candidate's CV {config.metric}, its cut (and the ensemble's weights) chosen without each fold:")
    for name, value in summary.candidates.items():
        lines.append(f"  {name:<8} {value:.4f}")
    lines.append(metrics.table({"nested CV": summary.metrics}))
    spread = [v for v in summary.per_fold if v is not None]
    picks = ", ".join(f"{name} {n}" for name, n in Counter(summary.chosen_per_fold).most_common())
    lines.append(f"nested CV {config.metric} = {summary.value:.4f} (per fold " + ", ".join(f"{v:.4f}" for v in spread)
                 + f"; std {np.std(spread):.4f}): model, weights and cut chosen without each fold ({picks})")
    lines.append(f"optimistic CV {config.metric} = {summary.optimistic:.4f} ({summary.model}, with model and cut "
                 "chosen on the same scores it is measured on)")
    lines.append(f"threshold: {cut.strategy} -> calls {cut.rate:.2%} of rows anomalous")
    lines.append("verdict (nested CV): " + metrics.verdict(summary.metrics, config.metric))
    return "\n".join(lines)


def weights(mix: dict[str, float]) -> str:
    return ", ".join(f"{name} {weight:.1f}" for name, weight in sorted(mix.items(), key=lambda kv: -kv[1]))


def stamp(config: Config, paths: Paths) -> dict[str, str]:
    """What the models were built from; `submit` refuses to mix them with anything else."""
    return {
        "config": config.digest(),
        "transformer": manifest.digest(paths, paths.transformer),
        "x_train": manifest.digest(paths, paths.x_train),
        "x_test": manifest.digest(paths, paths.x_test),
    }
