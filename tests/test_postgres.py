"""Tuning with several workers sharing one study on a real PostgreSQL server."""

import getpass
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest

from conftest import SRC


def _bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL cluster on loopback (Debian's `postgresql` package)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not found: `apt-get install postgresql` (.ci/run does)")
    # not under pytest's tmp folders: those are private to root, and the server runs as postgres
    folder = Path(tempfile.mkdtemp(prefix="memdev-pg-"))
    data = folder / "data"
    as_user = []
    if getpass.getuser() == "root":  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    subprocess.run(as_user + [pg_ctl, "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                              f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=50", "start"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "memdev"],
                   check=True, capture_output=True)
    yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/memdev"
    subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def _worker(paths, url, trials):
    return subprocess.Popen(
        [sys.executable, "-m", "memdev", "tune", "--comp", "tiny", "--trials", str(trials),
         "--storage", url, "--root", str(paths.root)],
        env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _trials(url):
    (summary,) = optuna.get_all_study_summaries(url)
    return optuna.load_study(study_name=summary.study_name, storage=url).trials


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
