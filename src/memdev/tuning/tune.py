"""The tune stage: Optuna searches memory size, optimizer and comparator threshold.

A trial runs the same cross-validation as ``make train`` (same folds, same
candidates) and returns its nested CV, the number ``make train`` reports.
Trial 0 is the config's own values (:mod:`memdev.tuning.searchspace`).
Studies live in any Optuna storage (SQLite under data/<slug>/ by default);
:mod:`memdev.tuning.study` names a study by everything that changes a trial,
so re-running resumes it and a config edit starts a new one. The best trial's
parameters go to ``data/<slug>/best_params.yaml``, which ``make train`` uses,
unless it beats trial 0 by no more than a standard error (:func:`chosen`).
"""

from __future__ import annotations

import logging
import os
import textwrap
import time
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import optuna

from memdev import atomic, progress
from memdev import config as config_io
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.features import preprocess
from memdev.models.candidates import FIXED
from memdev.models.memae import MemAEDetector
from memdev.paths import Paths
from memdev.training import decision, finetune, pretrain, selection, stamps
from memdev.training import folds as folds_io
from memdev.training.summary import CVSummary
from memdev.tuning import searchspace
from memdev.tuning import study as tuning_study

log = logging.getLogger(__name__)

@dataclass
class Trained:
    """A trial trained in this process, kept whole: the best one's models are what `make train` would build."""

    number: int
    config: Config  # the user's config with the trial's parameters
    memaes: list[MemAEDetector]
    seconds: float  # spent training the MemAEs
    result: finetune.CVResult
    summary: CVSummary
    scores: np.ndarray  # the chosen model's out-of-fold scores

    def save(self, paths: Paths, folds: np.ndarray, y: np.ndarray, X_test: np.ndarray) -> None:
        """Write the models, out-of-fold and test scores and CV as `make train` does: `make submit` trains nothing."""
        pretrain.save(self.config, paths, folds, y, self.memaes, self.seconds)
        finetune.save(self.config, paths, folds, y, self.result, self.summary, self.scores, X_test)


def objective_factory(config: Config, X, y, folds, space: dict[str, dict[str, Any]] | None = None,
                      trained: CVSummary | None = None, kept: dict[str, Trained] | None = None,
                      fitted: dict | None = None):
    """A plain ``objective(trial)``: the CV metric of the trial's configuration (the space:
    :func:`~memdev.tuning.searchspace.search_space`).

    A trial trains all folds' MemAEs and heads together, then reports after
    each fold's boosted candidates and scores (steps 2 to K + 1; the pruner
    may stop it there). ``gbm``, ``catboost``, ``iforest`` and ``lof`` depend on no tuned
    parameter: fitted in the first trial (or taken from ``make train``), reused
    after; once they are at hand a trial first reports their best metric under
    its own threshold (step 1), so a threshold that already falls behind is
    pruned before anything trains; so is a contamination rate that caps the
    metric at or below the best trial's (:func:`~memdev.training.selection.ceiling`).
    ``trained``: the CV of the models on disk
    (``make train``'s); a trial of their very config returns it untrained.
    ``kept``: holds the best trial trained here (``"best"``) and the config's own (``"own"``), the two
    :func:`chosen` picks from (:class:`Trained`). Every trial records its nested CV per fold (``per_fold``).
    ``fitted``: their fold models and out-of-fold scores, if at hand (:func:`~memdev.training.finetune.reusable`).
    """
    space = space or searchspace.search_space(config, y)
    cache = dict(fitted or {})
    own = searchspace.config_params(config, space)

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()  # frees the last trial's models (and collects garbage)
        trial_config = config.with_params(searchspace.suggest(trial, space))
        if trained is not None and trained.stamp.get("config") == trial_config.digest():
            trial.set_user_attr("model", trained.model)
            trial.set_user_attr("per_fold", trained.per_fold)
            trial.set_user_attr("reused", True)
            return trained.value

        def check(value: float, step: int) -> None:
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()

        fixed = fixed_oof(trial_config, y, folds, cache)
        if fixed:  # the trial's threshold on scores at hand: nothing trains if it alone falls behind
            name, values = decision.select(trial_config, y, fixed)
            check(values[name], 1)
        ceiling = selection.ceiling(trial_config, y, folds)
        if ceiling is not None:
            done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if done and ceiling <= max(t.value for t in done):
                trial.set_user_attr("ceiling", ceiling)  # not even a perfect ranking could beat the best trial
                raise optuna.TrialPruned()
        done_folds: list[int] = []

        def report(fold, held_out, oof):
            done_folds.append(int(fold))
            done = np.isin(folds, done_folds)
            name, values = decision.select(trial_config, y[done], {k: v[done] for k, v in oof.items()})
            bar.advance(1, f"fold {fold + 1} scored, {config.metric} {values[name]:.4f} so far")
            check(values[name], len(done_folds) + 1)

        # a trial's steps: the MemAEs and heads (all folds together), then each fold's scores
        with progress.stage(f"trial {trial.number}", folds_io.count(folds) + 1, "step") as bar:
            started = time.perf_counter()
            memaes, stacked = pretrain.fit_memaes(trial_config, X, y, folds)
            seconds = time.perf_counter() - started
            bar.advance(1, "MemAEs trained")
            result = finetune.cross_validate(trial_config, X, y, folds, memaes, report, stacked, cache)
        summary, scores = decision.summarise(trial_config, y, folds, result.oof)
        trial.set_user_attr("model", summary.model)
        trial.set_user_attr("per_fold", summary.per_fold)
        if kept is not None:
            mine = Trained(trial.number, trial_config, memaes, seconds, result, summary, scores)
            if trial.params == own:  # as :func:`chosen` finds it
                kept["own"] = mine
            if "best" not in kept or summary.value > kept["best"].summary.value:
                kept["best"] = mine
        return summary.value  # the nested CV, as `make train` reports it

    return objective


def run(config: Config, paths: Paths, trials: int, timeout: float | None = None, storage_url: str | None = None) -> None:
    stamps.check(config, paths, "tune")
    X, y, X_test = preprocess.load_features(paths)
    reason = untunable(config, y)
    if reason:
        earlier = f"; {paths.best_params.name} from an earlier study stays in use" if paths.best_params.exists() else ""
        log.info(f"tune: no trial run: {reason}. `make train` uses the config's own values{earlier} (README, Tuning)")
        return
    space = searchspace.search_space(config, y)
    folds = folds_io.assign(y, config)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    own = searchspace.config_params(config, space)
    study = tuning_study.open_study(config, space, paths, storage_url, own)
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed(config, study, storage_url))
    log.info(f"tune: {trials} more trial{'' if trials == 1 else 's'}")
    on_disk, kept = stamps.trained(config, paths), {}
    if on_disk is not None and on_disk.value is None:  # label-free models have no CV to take
        on_disk = None
    # memdev's own bar, not Optuna's: the trial's bar nests inside it, and a log gets a line per trial
    with progress.stage("tune", trials, "trial") as bar:
        objective = objective_factory(config, X, y, folds, space, on_disk, kept,
                                      finetune.reusable(config, paths, folds))
        study.optimize(objective, n_trials=trials, timeout=timeout,
                       callbacks=[lambda study, trial: bar.advance(1, trial_note(study, trial))])
    pick = finish(study, config, paths, own)
    here = [t for t in kept.values() if t.number == pick.number]
    if here:
        here[0].save(paths, folds, y, X_test)
        log.info(f"tune: saved trial #{pick.number}'s models as `make train` would; `make submit` trains nothing")
    elif on_disk is not None and on_disk.stamp.get("config") == config.with_params(pick.params).digest():
        stamps.renew(paths)
        log.info(f"tune: trial #{pick.number} is of the models `make train` built; `make submit` trains nothing")


def untunable(config: Config, y: np.ndarray) -> str | None:
    """Why no trial's CV could tell better parameters from luckier ones here, or None."""
    labeled = int(np.sum(y)) if config.labeled else 0
    if not folds_io.supervised(config, y):
        return f"a trial's CV needs at least 2 labeled anomalies, and regime {config.regime} has {labeled or 'none'}"
    if config.regime == "weak":
        return (f"regime weak: a trial's CV counts only the {labeled} labeled anomalies (the unlabeled rows as normal), "
                "so it cannot see how a trial ranks the anomalies nobody labeled (where every anomaly is labeled, "
                "set `regime: full` in config.yaml)")
    return None


def sampler_seed(config: Config, study: optuna.Study, storage_url: str | None) -> int:
    """The config's seed, moved on by the trials the study holds: a lone run from the same state draws the
    same trials (same seed, same submission), and a resumed study does not replay its random start-up trials.

    A worker that shares the study (an explicit storage, or trials running
    elsewhere as it starts) also adds its process id: workers joining at the
    same moment must not draw the same trials.
    """
    shared = storage_url is not None or any(t.state == optuna.trial.TrialState.RUNNING for t in study.trials)
    return config.seed + len(study.trials) + (os.getpid() if shared else 0)


def fixed_oof(config: Config, y: np.ndarray, folds: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
    """The out-of-fold scores of the candidates no tuned parameter changes (:data:`FIXED`), if ``cache`` holds
    every fold's (the objective's cache: :func:`~memdev.training.finetune.reusable`, or a trial that scored
    every fold)."""
    names = [name for name in finetune.candidates(config, y) if name in FIXED]
    count = folds_io.count(folds)
    if not names or not all(isinstance(cache.get((name, k)), tuple) for name in names for k in range(count)):
        return {}
    out = {name: np.zeros(len(y)) for name in names}
    for name in names:
        for k in range(count):
            out[name][folds == k] = cache[name, k][1]
    return out


def trial_note(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> str:
    """How a finished trial went, beside the best so far: the tuning bar's note."""
    outcome = f"{trial.value:.4f}" if trial.value is not None else trial.state.name.lower()
    if trial.user_attrs.get("reused"):
        outcome += " (the config `make train` built its models from: their CV, untrained)"
    if "ceiling" in trial.user_attrs:
        outcome = f"pruned before training: its threshold caps it at {trial.user_attrs['ceiling']:.4f}"
    elif trial.state == optuna.trial.TrialState.PRUNED and trial.intermediate_values:  # Optuna keeps its last report
        # a value so far, not a final one: it may stand above the best trial's and still be below the median
        # of the other trials at the same step
        scored = trial.last_step - 1  # step 1: the threshold, before training; step k + 1: after k folds
        where = (f"after {scored} fold{'' if scored == 1 else 's'}" if scored
                 else "before training (its threshold on the candidates at hand)")
        outcome = f"pruned {where}: {outcome} so far, below the other trials' median there"
    try:
        best = study.best_trial
    except ValueError:  # no trial has completed yet
        return f"#{trial.number} {outcome}"
    return f"#{trial.number} {outcome}, best {best.value:.4f} (#{best.number})"


def chosen(study: optuna.Study, own: dict[str, Any] | None) -> tuple[optuna.trial.FrozenTrial, np.ndarray | None]:
    """The trial ``best_params.yaml`` takes, and its nested CV's gains per fold over the config's own values.

    The best trial, unless it beats the trial of the config's own values
    (``own``) by no more than one standard error of their per-fold differences
    (:func:`~memdev.training.selection.clear_gain`, the rule that keeps the
    blend among candidates): the best of many trials on a CV of a few dozen
    anomalies is partly the luckiest. Where there is nothing to compare (the
    best is the config's own, a trial lacks its per-fold CV, fewer than two
    folds scored both), the best, and gains None.
    """
    best = study.best_trial
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    mine = next((t for t in done if own is not None and t.params == own), None)
    if mine is None or mine.number == best.number or any("per_fold" not in t.user_attrs for t in (best, mine)):
        return best, None
    gains = np.array([b - m for b, m in zip(best.user_attrs["per_fold"], mine.user_attrs["per_fold"])
                      if b is not None and m is not None])
    if len(gains) < 2:
        return best, None
    return (best if selection.clear_gain(gains) else mine), gains


def finish(study: optuna.Study, config: Config, paths: Paths,
           own: dict[str, Any] | None = None) -> optuna.trial.FrozenTrial:
    """Print the winner and importances, write best_params.yaml (the :func:`chosen` trial's) and the plots;
    return the chosen trial."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise MemdevError(f"study {study.study_name}: no trial completed yet")
    best = study.best_trial
    log.info(f"tune: best trial #{best.number} CV {config.metric} = {best.value:.4f} (model {best.user_attrs.get('model')})")
    pick, gains = chosen(study, own)
    # "config": the config's own values of the tuned keys, so that a later edit of one of them wins over the tuning
    record = {"study": study.study_name, "trial": pick.number, "value": float(pick.value),
              "metric": config.metric, "params": dict(pick.params),
              "config": {key: config.value(key) for key in pick.params}}
    if pick.number != best.number:
        mean, error = selection.mean_gain(gains)
        record["why"] = (f"the config's own values (trial #{pick.number}, CV {pick.value:.4f}): the best trial beats "
                         f"them by {mean:+.4f} ± {error:.4f} per fold, within one standard error")
        log.info(f"tune: kept {record['why']} (README, Tuning)")
    log.info(describe_params(pick.params))
    config_io.save_tuned(paths.best_params, record)
    # importances compare trials that scored differently; with one value they are equal, and Optuna warns
    varied = len({t.value for t in done}) >= 2
    if varied:
        importances = optuna.importance.get_param_importances(study)
        log.info("tune: most important: " + ", ".join(f"{k} {v:.2f}" for k, v in list(importances.items())[:3]))
    plots(study, paths, varied)
    log.info(f"tune: wrote {paths.best_params} (`make train` and `make submit` now use it) "
             f"and plots in {paths.reports}")
    return pick


def describe_params(params: dict[str, Any]) -> str:
    """The parameters by section, in a few lines (``memae: memory_size=120, ...``)."""
    sections: dict[str, list[str]] = {}
    for dotted, value in params.items():
        section, _, key = dotted.rpartition(".")
        sections.setdefault(section, []).append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    text = "; ".join(f"{section}: {', '.join(items)}" for section, items in sections.items())
    return textwrap.fill(text, 100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)


def plots(study: optuna.Study, paths: Paths, importances: bool = True) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    figures = {
        "tune_history.png": lambda: ovm.plot_optimization_history(study),
        "tune_importances.png": lambda: ovm.plot_param_importances(study),
        "tune_slice_memory_size.png": lambda: ovm.plot_slice(study, params=["memae.memory_size"]),
    }
    if not importances:
        figures.pop("tune_importances.png")
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len({t.params.get("memae.memory_size") for t in done}) < 2:  # one point: matplotlib warns of a flat axis
        figures.pop("tune_slice_memory_size.png")
    for name, draw in figures.items():
        try:
            axes = draw()
        except (ValueError, RuntimeError) as exc:  # e.g. importances need two finished trials
            log.info(f"tune: skipped {name}: {exc}")
            continue
        figure = (axes.flat[0] if hasattr(axes, "flat") else axes).get_figure()
        figure.tight_layout()
        with atomic.atomic_path(paths.reports / name) as tmp:
            figure.savefig(tmp, dpi=110)
        plt.close(figure)
