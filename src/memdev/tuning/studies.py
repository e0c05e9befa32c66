"""A competition's Optuna studies, read without changing them: for ``memdev status`` and ``memdev dashboard``.

``make tune`` names its studies ``<slug>-<hash of the search space>`` in the
competition's SQLite file (or the ``STORAGE`` it was given); the one
``best_params.yaml`` came from is the competition's current study.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url

from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.paths import Paths

log = logging.getLogger(__name__)

# a server that drops the packets rather than refusing them fails after this long, not the system's minutes
CONNECT_SECONDS = 10
CREATE_ATTEMPTS = 5


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


def driver_url(url: str) -> str:
    """``url`` with a bare ``postgresql://`` taken as psycopg2's (the driver memdev installs).

    SQLAlchemy 2.1 reads a bare ``postgresql://`` as psycopg 3, which memdev
    does not install; any URL that names its driver is left as it is.
    """
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme == "postgresql" else url


def shown(url: str) -> str:
    """A storage URL fit to print: any password in it masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def rdb_storage(url: str, **kwargs: Any) -> optuna.storages.RDBStorage:
    """Optuna's storage at ``url`` (``kwargs`` go to ``RDBStorage``): the one place memdev opens a storage URL.

    Raises MemdevError, one line naming the URL as given (password masked)
    and what to check, when the database cannot be reached or its driver is
    not installed.
    """
    real = driver_url(url)
    engine_kwargs = kwargs.setdefault("engine_kwargs", {})
    if real.startswith("postgresql") and "connect_timeout" not in real:
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_SECONDS, **engine_kwargs.get("connect_args", {})}
    try:
        # an unreachable database fails here at once: the retries below are for another problem
        engine = sqlalchemy.create_engine(real, poolclass=sqlalchemy.pool.NullPool, **engine_kwargs)
        try:
            engine.connect().close()
        finally:
            engine.dispose()
        # workers started together on an empty database race to create Optuna's tables;
        # the losers find them made and succeed on a retry
        for attempt in range(CREATE_ATTEMPTS):
            try:
                return optuna.storages.RDBStorage(real, **kwargs)
            except sqlalchemy.exc.SQLAlchemyError:
                if attempt == CREATE_ATTEMPTS - 1:
                    raise
                time.sleep(1 + random.random() * 2)
        raise AssertionError("unreachable")
    except (sqlalchemy.exc.SQLAlchemyError, ImportError) as exc:
        raise _unopened(url, exc) from None


def _unopened(url: str, exc: Exception) -> MemdevError:
    """The one line for a storage that could not be opened: the URL as given (password masked), why, what to check."""
    cause = exc.__cause__ if isinstance(exc, ImportError) and exc.__cause__ else exc  # Optuna's hides the module
    if isinstance(cause, (ImportError, sqlalchemy.exc.NoSuchModuleError)):
        hint = ("its database driver is not installed: memdev installs only psycopg2, which postgresql:// URLs use; "
                "write one of those, or install this URL's driver into .venv")
    elif isinstance(cause, sqlalchemy.exc.ArgumentError):
        hint = "a storage URL looks like postgresql://user@host/db or sqlite:///path/to/study.db"
    elif url.startswith("sqlite"):
        hint = "check that the file's folder exists and is writable"
    else:
        hint = "check that the server is running and reachable at that host and port, and the user, password and database"
    # the driver's own words, without SQLAlchemy's "(psycopg2.OperationalError)" in front
    reason = _first_line(getattr(cause, "orig", None) or cause)
    return MemdevError(f"cannot open the study storage {shown(url)}: {reason} ({hint})")


def open_storage(paths: Paths, url: str | None = None) -> optuna.storages.BaseStorage | None:
    """The storage ``make tune`` writes to; None when it has made no SQLite file yet.

    Raises MemdevError naming the (masked) URL when the storage cannot be opened.
    """
    if not url and not paths.study_db.exists():
        return None
    try:
        return rdb_storage(storage_url(paths, url))
    except ValueError as exc:
        raise MemdevError(f"cannot open the study storage {shown(storage_url(paths, url))}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
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
