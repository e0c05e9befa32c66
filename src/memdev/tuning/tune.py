"""The tune stage: Optuna searches memory size, optimizer and comparator threshold.

A trial runs the same cross-validation as ``make train`` (same folds, same
candidates) and returns its nested CV, the number ``make train`` reports.
Studies live in any Optuna storage (SQLite under data/<slug>/ by default);
the study name hashes the search space, so re-running resumes it. The best
parameters go to ``data/<slug>/best_params.yaml``, which ``make train`` uses.
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import random
import time
import warnings
from copy import deepcopy
from typing import Any

import keras
import numpy as np
import optuna
import sqlalchemy

from memdev import atomic
from memdev import config as config_io
from memdev.config import OPTIMIZERS, Config
from memdev.errors import MemdevError
from memdev.features import preprocess
from memdev.paths import Paths
from memdev.training import finetune, pretrain
from memdev.training import folds as folds_io

log = logging.getLogger(__name__)

SPACE: dict[str, dict[str, Any]] = {
    "memae.memory_size": {"low": 10, "high": 500, "log": True},
    "memae.shrink": {"low": 0.5, "high": 3.0},
    "memae.entropy_weight": {"low": 1e-5, "high": 1e-2, "log": True},
    "memae.latent": {"low": 4, "high": 64, "log": True},
    "memae.optimizer": {"choices": ["adam", "rmsprop", "sgd", "adadelta"]},
    "memae.learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
    "head.margin": {"low": 2.0, "high": 8.0},
    "head.units": {"low": 8, "high": 64, "log": True},
    "head.learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
}


def search_space(config: Config, y: np.ndarray) -> dict[str, dict[str, Any]]:
    """The package's space, the config's overrides, and the comparator threshold."""
    space = deepcopy(SPACE)
    if config.submission == "label" and config.metric in ("f1", "mcc", "accuracy", "balanced_accuracy"):
        # the threshold as a share of rows called anomalous: a unit that transfers between folds
        prevalence = max(float(np.mean(y)), 1.0 / len(y))
        space["threshold.strategy"] = {"choices": ["f1", "contamination"]}
        space["threshold.contamination"] = {"low": prevalence / 2, "high": min(prevalence * 2, 0.5)}
    for key, override in config.search_space.items():
        if key not in space:
            raise MemdevError(f"search_space: unknown parameter {key!r}; tunable: {', '.join(space)}")
        if not isinstance(override, dict):
            raise MemdevError(f"search_space: {key} must be a mapping like {{low: 1, high: 10}} or {{choices: [...]}}")
        space[key] = {**space[key], **override}
    for key, spec in space.items():
        if "choices" in spec:
            allowed = OPTIMIZERS if key.endswith("optimizer") else None
            unknown = [c for c in spec["choices"] if allowed and c not in allowed]
            if unknown or not spec["choices"]:
                raise MemdevError(f"search_space: {key} has unknown choice {unknown[0] if unknown else '(none)'!r}")
        elif spec["low"] > spec["high"]:
            raise MemdevError(f"search_space: {key} has low {spec['low']} > high {spec['high']}")
        elif spec.get("log") and spec["low"] <= 0:
            raise MemdevError(f"search_space: {key} is on a log scale, so low must be > 0")
    return space


def suggest(trial: optuna.Trial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    params = {}
    for key, spec in space.items():
        if key == "threshold.contamination" and params.get("threshold.strategy") != "contamination":
            continue  # only a contamination threshold has a rate to tune
        if "choices" in spec:
            params[key] = trial.suggest_categorical(key, spec["choices"])
        elif isinstance(spec["low"], int) and isinstance(spec["high"], int):
            params[key] = trial.suggest_int(key, spec["low"], spec["high"], log=spec.get("log", False))
        else:
            params[key] = trial.suggest_float(key, float(spec["low"]), float(spec["high"]), log=spec.get("log", False))
    return params


def objective_factory(config: Config, X, y, folds):
    """A plain ``objective(trial)``: the CV metric of the trial's configuration."""
    space = search_space(config, y)

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()
        gc.collect()
        trial_config = config.with_params(suggest(trial, space))

        done_folds: list[int] = []

        def report(fold, held_out, oof):
            done_folds.append(int(fold))
            done = np.isin(folds, done_folds)
            name, values = finetune.select(trial_config, y[done], {k: v[done] for k, v in oof.items()})
            trial.report(values[name], len(done_folds))
            if trial.should_prune():
                raise optuna.TrialPruned()

        memaes = pretrain.fit_memaes(trial_config, X, y, folds)
        result = finetune.cross_validate(trial_config, X, y, folds, memaes, report)
        summary, _ = finetune.summarise(trial_config, y, folds, result.oof)
        trial.set_user_attr("model", summary.model)
        return summary.value  # the nested CV, as `make train` reports it

    return objective


def study_name(config: Config, space: dict) -> str:
    # "objective": trials before it returned the optimistic CV, which is not comparable with the nested one
    text = json.dumps({"space": space, "regime": config.regime, "metric": config.metric,
                       "folds": config.folds, "seed": config.seed, "objective": "nested"}, sort_keys=True)
    return f"{config.slug}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def storage(url: str | None, paths: Paths) -> optuna.storages.BaseStorage:
    url = url or f"sqlite:///{paths.study_db}"
    paths.comp.mkdir(parents=True, exist_ok=True)
    # a killed worker's trial is marked failed after the grace period and retried once
    kwargs: dict[str, Any] = {
        "heartbeat_interval": 10, "grace_period": 30,
        "heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
    }
    if url.startswith("sqlite"):
        # several `make tune` processes may share one file: wait for the lock instead of failing
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
    # workers started together on an empty database race to create Optuna's tables;
    # the losers find them made and succeed on a retry
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except sqlalchemy.exc.SQLAlchemyError:
            if attempt == 4:
                raise
            time.sleep(1 + random.random() * 2)


def run(config: Config, paths: Paths, trials: int, timeout: float | None = None, storage_url: str | None = None) -> None:
    X, y, _ = preprocess.load_features(paths)
    if not folds_io.supervised(config, y):
        raise MemdevError(
            f"tuning needs at least 2 labeled anomalies to score trials, and regime {config.regime!r} has "
            f"{int(np.sum(y)) if config.labeled else 'none'}; "
            f"`make train` uses the defaults and the threshold strategy {config.threshold_strategy!r}"
        )
    space = search_space(config, y)
    folds = folds_io.assign(y, config)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = optuna.create_study(
        study_name=study_name(config, space), storage=storage(storage_url, paths), load_if_exists=True,
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    )
    # a resumed study must not replay the first run's random start-up trials, and
    # workers that join one study at the same moment must not draw the same ones
    study.sampler = optuna.samplers.TPESampler(seed=config.seed + len(study.trials) + os.getpid())
    if not study.trials:
        # the defaults are trial 0, so the winner is never worse than them on CV
        defaults = {key: _get(config, key) for key in space}
        if "threshold.strategy" in space:
            strategy = config.threshold_strategy
            defaults["threshold.strategy"] = strategy if strategy in space["threshold.strategy"]["choices"] else "f1"
            if defaults["threshold.strategy"] != "contamination":
                defaults.pop("threshold.contamination")
        study.enqueue_trial({k: v for k, v in defaults.items() if v is not None}, skip_if_exists=True)
    log.info(f"tune: study {study.study_name} ({len(study.trials)} trials so far), {trials} more")
    study.optimize(objective_factory(config, X, y, folds), n_trials=trials, timeout=timeout,
                   show_progress_bar=True, gc_after_trial=True)
    finish(study, config, paths)


def _get(config: Config, dotted: str):
    section, _, key = dotted.partition(".")
    return getattr(getattr(config, section), key, None)


def finish(study: optuna.Study, config: Config, paths: Paths) -> None:
    """Print the winner and importances, write best_params.yaml and the plots."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise MemdevError(f"study {study.study_name}: no trial completed yet")
    best = study.best_trial
    log.info(f"tune: best trial #{best.number} CV {config.metric} = {best.value:.4f} (model {best.user_attrs.get('model')})")
    for key, value in best.params.items():
        log.info(f"  {key}: {value}")
    params = dict(best.params)
    record = {"study": study.study_name, "trial": best.number, "value": float(best.value),
              "metric": config.metric, "params": params}
    config_io.save_tuned(paths.best_params, record)
    log.info(f"tune: wrote {paths.best_params}; `make train` and `make submit` now use it")
    if len(done) >= 2:
        importances = optuna.importance.get_param_importances(study)
        log.info("tune: parameter importance: " + ", ".join(f"{k} {v:.2f}" for k, v in importances.items()))
    plots(study, paths)


def plots(study: optuna.Study, paths: Paths) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    figures = {
        "tune_history.png": lambda: ovm.plot_optimization_history(study),
        "tune_importances.png": lambda: ovm.plot_param_importances(study),
        "tune_slice_memory_size.png": lambda: ovm.plot_slice(study, params=["memae.memory_size"]),
    }
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
    log.info(f"tune: plots in {paths.reports}")
