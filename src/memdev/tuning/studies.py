"""A competition's Optuna studies, read without changing them: for ``memdev status`` and ``memdev dashboard``.

``make tune`` names its studies ``<slug>-<hash of the search space>`` in the
competition's SQLite file (or the ``STORAGE`` it was given); the one
``best_params.yaml`` came from is the competition's current study.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.paths import Paths

log = logging.getLogger(__name__)


@dataclass
class Study:
    """One study of the competition, as stored."""

    name: str
    study_id: int
    trials: list[optuna.trial.FrozenTrial]

    def count(self, state: optuna.trial.TrialState) -> int:
        return sum(trial.state == state for trial in self.trials)

    @property
    def best(self) -> optuna.trial.FrozenTrial | None:
        done = [t for t in self.trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
        return max(done, key=lambda t: t.value) if done else None

    @property
    def last_active(self) -> datetime | None:
        times = [t.datetime_complete or t.datetime_start for t in self.trials]
        return max((t for t in times if t is not None), default=None)


def storage_url(paths: Paths, url: str | None = None) -> str:
    """``url``, or the competition's SQLite file."""
    return url or f"sqlite:///{paths.study_db}"


def shown(url: str) -> str:
    """A storage URL fit to print: any password in it masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def open_storage(paths: Paths, url: str | None = None) -> optuna.storages.BaseStorage | None:
    """The storage ``make tune`` writes to; None when it has made no SQLite file yet.

    Raises MemdevError naming the (masked) URL when the storage cannot be read.
    """
    if not url and not paths.study_db.exists():
        return None
    try:
        return optuna.storages.RDBStorage(storage_url(paths, url))
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        where = shown(storage_url(paths, url))
        raise MemdevError(f"cannot read the study storage {where}: {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def find(paths: Paths, storage: optuna.storages.BaseStorage) -> list[Study]:
    """The competition's studies: the one ``best_params.yaml`` came from first, then the most recently active."""
    current = config_io.load_tuned(paths.best_params).get("study")
    found = []
    try:
        for frozen in storage.get_all_studies():
            if frozen.study_name == current or frozen.study_name.startswith(f"{paths.slug}-"):
                study_id = storage.get_study_id_from_name(frozen.study_name)
                found.append(Study(frozen.study_name, study_id, storage.get_all_trials(study_id, deepcopy=False)))
    except sqlalchemy.exc.SQLAlchemyError as exc:  # e.g. the database went away
        raise MemdevError(f"cannot read the studies: {_first_line(exc)}") from None
    found.sort(key=lambda s: s.last_active or datetime.min, reverse=True)
    found.sort(key=lambda s: s.name != current)  # stable: the rest stay newest first
    return found
