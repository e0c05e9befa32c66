"""What a run submits, decided from its candidates' out-of-fold scores, and the CV table that says so.

With labels, :mod:`memdev.training.selection` picks the candidate (or a rank
ensemble) and the comparator threshold, and measures that choice by nested
CV; without them, :mod:`memdev.training.labelfree` picks the score and a
threshold strategy that needs no labels sets the cut.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from memdev.config import Config
from memdev.evaluation import metrics, threshold
from memdev.models.candidates import LABEL_FREE
from memdev.models.ranks import BLEND_PARTS
from memdev.training import folds as folds_io
from memdev.training import labelfree, selection
from memdev.training.summary import CVSummary


def select(config: Config, y: np.ndarray, oof: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """A quick pick: the candidate with the best CV metric on these scores, cut chosen on them too (optimistic).

    For a tuning trial's intermediate reports; :func:`summarise` makes the real choice.
    """
    if not folds_io.supervised(config, y):
        return next(iter(labelfree.choose(oof, {}, config.regime, config.label_free).weights)), {}
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
                        # on fold ranks, as the nested CV: pooled raw scores mix fold models' scales
                        optimistic=selection.value(config, y, ranked), weights=choice.weights)
    weak = config.regime == "weak" and selection.PRIOR in values
    if weak and choice.model in LABEL_FREE:
        summary.reason = (f"weak regime: {choice.model} needs no labels and replaces the blend: ahead on "
                          f"{config.metric} and clearly ahead on ROC-AUC, fold by fold")
    elif weak and choice.model == selection.ENSEMBLE:
        behind = " and ".join(name for name in BLEND_PARTS if name not in choice.weights)
        summary.reason = (f"weak regime: the blend without {behind}, behind the best part on ROC-AUC fold by fold "
                          f"by more than {selection.WEAK_GAP} and {selection.WEAK_SE:.0f} standard errors")
    summary.score_quantiles = {str(q): float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99)}
    return summary, scores


def label_free(config: Config, y, folds, oof: dict[str, np.ndarray], stats: dict[str, float]) -> tuple[CVSummary, np.ndarray]:
    """The label-free rule's choice; its threshold from a strategy that needs no labels ('quantile' by default)."""
    rule = labelfree.choose({name: oof[name] for name in LABEL_FREE if name in oof}, stats, config.regime,
                            config.label_free)
    model = next(iter(rule.weights)) if len(rule.weights) == 1 else selection.ENSEMBLE
    ranks = {name: selection.fold_ranks(oof[name], folds) for name in rule.weights}
    scores = oof[model] if model != selection.ENSEMBLE else selection.Choice(model, rule.weights).score(ranks, np.arange(len(y)))
    # the labeled defaults (a metric's cut, 'pu') need labeled anomalies
    if config.labeled and not config.threshold.strategy:
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
    if config.clash:
        lines.append(f"  WARNING: {config.clash}")
    if summary.value is None:
        lines.append(f"  {summary.reason}")
        lines.append(f"  no labels: no CV metric; threshold from strategy {cut.strategy} = {cut.value:.6g} "
                     f"(calls {cut.rate:.1%} of training rows anomalous)")
        return "\n".join(lines)
    values = ", ".join(f"{name} {value:.4f}" for name, value in summary.candidates.items())
    lines.append(f"  candidates, CV {config.metric}: {values}")  # cut (and weights) chosen without each fold
    if summary.reason:
        lines.append(f"  {summary.reason}")
    lines.append(metrics.table({"nested CV": summary.metrics}))
    spread = [v for v in summary.per_fold if v is not None]
    picks = ", ".join(f"{name} {n}" for name, n in Counter(summary.chosen_per_fold).most_common())
    lines.append(f"nested CV {config.metric} = {summary.value:.4f} (per fold " + ", ".join(f"{v:.4f}" for v in spread)
                 + f"; std {np.std(spread):.4f}): model, weights and cut chosen without each fold ({picks})")
    lines.append(f"optimistic CV {config.metric} = {summary.optimistic:.4f} ({summary.model}, with model and cut "
                 "chosen on the same scores it is measured on)")
    lines.append(f"threshold: {cut.strategy} -> calls {cut.rate:.2%} of rows anomalous")
    lines.append("verdict (nested CV): " + metrics.verdict(summary.metrics, config.metric))
    if config.regime == "weak":
        lines.append("weak regime: this CV counts the labeled anomalies only and the unlabeled rows as normal, some of "
                     "which are not: it compares candidates, and runs below what a leaderboard counting every anomaly "
                     "shows")
    return "\n".join(lines)


def weights(mix: dict[str, float]) -> str:
    return ", ".join(f"{name} {weight:.1f}" for name, weight in sorted(mix.items(), key=lambda kv: -kv[1]))
