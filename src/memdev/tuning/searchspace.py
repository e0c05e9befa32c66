"""The search space of ``make tune``: the package's, the config's overrides, and the config's own values.

Trial 0 is the config's own values (:func:`config_params`); the space is
widened to hold them (:func:`contain`).
"""

from __future__ import annotations

import logging
from copy import deepcopy
from typing import Any

import numpy as np
import optuna

from memdev.config import LABEL_METRICS, OPTIMIZERS, Config
from memdev.errors import MemdevError

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
    if config.submission == "label" and config.metric in LABEL_METRICS:
        # the threshold as a share of rows called anomalous: a unit that transfers between folds
        prevalence = max(float(np.mean(y)), 1.0 / len(y))
        space["threshold.strategy"] = {"choices": [config.metric, "contamination"]}
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
    widened = contain(space, config_params(config, space))
    if widened:
        log.info("tune: search space widened to hold the config's values: " + ", ".join(widened))
    return space


def config_params(config: Config, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The config's own values of the tuned parameters: trial 0, which ``make tune`` keeps unless a trial beats
    it clearly (:func:`memdev.tuning.tune.chosen`)."""
    params = {key: config.value(key) for key in space if not key.startswith("threshold.")}
    if "threshold.strategy" in space:
        params["threshold.strategy"] = config.threshold_strategy
        if config.threshold_strategy == "contamination":  # only then is there a rate to tune
            params["threshold.contamination"] = config.threshold.contamination
    return {key: value for key, value in params.items() if value is not None}


def contain(space: dict[str, dict[str, Any]], params: dict[str, Any]) -> list[str]:
    """Widen ``space`` in place to hold ``params`` (a choice added, a range stretched); say what changed.

    A valid config may lie outside the package's space (optimizer adamw, a
    memory of 5 slots); Optuna refuses to enqueue such a trial 0.
    """
    widened = []
    for key, value in params.items():
        spec = space[key]
        if "choices" in spec:
            if value not in spec["choices"]:
                spec["choices"] = [*spec["choices"], value]
                widened.append(f"{key} + {value!r}")
            continue
        whole = isinstance(spec["low"], int) and isinstance(spec["high"], int) and float(value).is_integer()
        bound = int(value) if whole else float(value)
        for side, outside in (("low", value < spec["low"]), ("high", value > spec["high"])):
            if outside:
                widened.append(f"{key} {side} {spec[side]} -> {bound}")
                spec[side] = bound
        if not whole and isinstance(spec["low"], int) and isinstance(spec["high"], int):
            spec["low"], spec["high"] = float(spec["low"]), float(spec["high"])
        if spec.get("log") and spec["low"] <= 0:  # no log scale reaches 0: search it linearly
            spec["log"] = False
            widened.append(f"{key} on a linear scale")
    return widened


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
