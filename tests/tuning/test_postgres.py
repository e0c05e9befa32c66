"""Tuning with several workers sharing one study on a real PostgreSQL server."""

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from conftest import SRC
from memdev.bench import pgserver


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster on loopback (Debian's `postgresql` package)."""
    if not pgserver.available():
        pytest.skip(pgserver.MISSING)
    with pgserver.throwaway_server() as url:
        yield url


def _worker(paths, url, trials):
    return subprocess.Popen(
        [sys.executable, "-m", "memdev", "tune", "--comp", "tiny", "--trials", str(trials),
         "--storage", url, "--root", str(paths.root)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _trials(url):
    """The trials of every study on the server: none before a worker creates one (each pytest-xdist worker
    running a test of this module has a server of its own)."""
    return [trial for summary in optuna.get_all_study_summaries(url)
            for trial in optuna.load_study(study_name=summary.study_name, storage=url).trials]


def test_three_workers_share_one_study_without_losing_or_duplicating_trials(tiny, postgres_url):  # noqa: F811
    workers = [_worker(tiny, postgres_url, 2) for _ in range(3)]
    for worker in workers:
        _, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err
    trials = _trials(postgres_url)
    assert len(trials) == 6 == len({t.number for t in trials})
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in trials)
    assert not tiny.study_db.exists()


def test_killing_one_worker_does_not_harm_the_others(tiny, postgres_url):  # noqa: F811
    before = len(_trials(postgres_url))
    victim, *others = [_worker(tiny, postgres_url, 2) for _ in range(3)]
    time.sleep(8)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    for worker in others:
        _, err = worker.communicate(timeout=900)
        assert worker.returncode == 0, err
    finished = [t for t in _trials(postgres_url)[before:] if t.state.is_finished()]
    assert len(finished) >= 4
