"""Which Optuna study a `make tune` run adds to: resumed when nothing that changes a trial changed, else a new one.

A study's name hashes everything that changes a trial's result (its
identity): the whole config but the keys that change none, the search space,
and the train table's bytes. A config edit therefore starts a new study, whose trial
0 is the edited config's own values, and the run says which study it added
to and, for a new one, what changed since the last one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

import optuna

from memdev.config import Config
from memdev.features import preprocess
from memdev.models.ranks import BLEND_PARTS
from memdev.paths import Paths
from memdev.tuning import studies

log = logging.getLogger(__name__)

# keys that change no trial's result: the reports' settings, and the ones that act only
# through the features (the train table's sha256 and the keys preprocess reads stand for those)
UNHASHED = ("slug", "scorers", "group_column", "chunked_from_mb", "fit_rows")
# how long a worker that joins a study waits for the worker creating it to enqueue trial 0
CREATION_SECONDS = 10.0
SHOWN = 5  # changes listed in the "new study" line


def identity(config: Config, space: dict, paths: Paths) -> dict[str, Any]:
    """Everything that changes a trial's result: what a study's name hashes."""
    settings = {key: value for key, value in config.to_dict().items() if key not in UNHASHED}
    data = preprocess.load_info(paths).get("stamp", {})
    # "objective": what a trial returns; trials of an earlier objective (the optimistic CV, the nested CV
    # of a selection without the blend prior, or a blend of other parts) are not comparable with today's
    objective = "nested CV, the blend of " + " ".join(BLEND_PARTS) + " kept unless clearly beaten"
    if config.regime == "weak":
        objective += ", weak: only a label-free detector clearly ahead on ROC-AUC replaces the blend"
    return {"config": settings, "search space": space, "data": {"train data": data.get("train", "")},
            "features config": data.get("config", ""), "objective": objective}


def name(config: Config, ident: dict[str, Any]) -> str:
    text = json.dumps(ident, sort_keys=True, default=str)
    return f"{config.slug}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def pruner() -> optuna.pruners.BasePruner:
    """Stop a trial whose first folds fall below the median of the finished trials' (after 3 finished)."""
    return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)


def storage(url: str | None, paths: Paths) -> optuna.storages.BaseStorage:
    """The storage a tuning run adds to; MemdevError, one line, when it cannot be opened."""
    url = studies.storage_url(paths, url)
    paths.comp.mkdir(parents=True, exist_ok=True)
    # a killed worker's trial is marked failed after the grace period and retried once
    kwargs: dict[str, Any] = {
        "heartbeat_interval": 10, "grace_period": 30,
        "heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1),
    }
    if url.startswith("sqlite"):
        # several `make tune` processes may share one file: wait for the lock instead of failing
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 120}}
    return studies.rdb_storage(url, **kwargs)


def open_study(config: Config, space: dict, paths: Paths, url: str | None, first: dict[str, Any]) -> optuna.Study:
    """The study of this config: resumed if it exists, else created with ``first`` (the config's values) as trial 0.

    Of several workers starting together, the one whose ``create_study`` wins
    enqueues trial 0; the others join its study. A worker that finds a study
    whose creator died before enqueuing trial 0 does it instead.
    """
    backend = storage(url, paths)
    ident = identity(config, space, paths)
    study_name = name(config, ident)
    try:
        study = optuna.create_study(study_name=study_name, storage=backend, direction="maximize", pruner=pruner())
        log.info(f"tune: new study {study_name}, trial 0 = the config's own values; {since(backend, config, ident, study_name)}")
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=study_name, storage=backend, pruner=pruner())
        if _created(study):
            trials = len(study.trials)
            log.info(f"tune: resuming study {study_name} ({trials} trial{'' if trials == 1 else 's'} so far): "
                     "the config, search space and train data are those it started with")
            return study
        log.info(f"tune: study {study_name} was left without its trial 0; adding it")
    study.enqueue_trial(first, skip_if_exists=True)
    # set last: a study with these has its trial 0 (what `_created` waits for)
    study.set_user_attr("created", datetime.now(timezone.utc).isoformat())
    study.set_user_attr("identity", ident)
    return study


def _created(study: optuna.Study) -> bool:
    """Whether the study's creator finished creating it (waiting a little for a creator working right now)."""
    deadline = time.monotonic() + CREATION_SECONDS
    while "identity" not in study.user_attrs:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def since(backend: optuna.storages.BaseStorage, config: Config, ident: dict[str, Any], new: str) -> str:
    """What changed since the latest study of this competition in ``backend`` other than ``new``."""
    mine = [s for s in optuna.get_all_study_summaries(backend, include_best_trial=False)
            if s.study_name.startswith(f"{config.slug}-") and s.study_name != new]
    others = [s for s in mine if "identity" in s.user_attrs and s.user_attrs["identity"] != ident]
    if not others:
        older = [s.study_name for s in mine if "identity" not in s.user_attrs]
        return (f"the earlier studies here ({', '.join(older)}) were named by an older memdev, by the search space alone"
                if older else f"the first study of {config.slug} in this storage")
    last = max(others, key=lambda s: s.user_attrs.get("created", ""))
    changes = differences(last.user_attrs["identity"], ident)
    shown = ", ".join(changes[:SHOWN]) + (f" and {len(changes) - SHOWN} more" if len(changes) > SHOWN else "")
    trials = last.n_trials
    return f"since study {last.study_name} ({trials} trial{'' if trials == 1 else 's'}): {shown}"


def differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key old -> new`` for every setting that differs between two identities."""
    before, after = _flat(old), _flat(new)
    out = []
    for key in sorted(set(before) | set(after), key=lambda k: (not k.startswith("config."), k)):
        if before.get(key) != after.get(key):
            label = key.removeprefix("config.")
            if key.startswith(("data.", "features config")):
                out.append(f"{label.removeprefix('data.')} changed")
            else:
                out.append(f"{label} {before.get(key, '(none)')} -> {after.get(key, '(none)')}")
    return out


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
