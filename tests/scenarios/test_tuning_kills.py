"""`make tune` killed at random moments, and two workers on one study: no completed trial is ever lost."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import optuna
import sqlalchemy

from conftest import SRC, completed, memdev


def tune_process(paths):
    return subprocess.Popen([sys.executable, "-m", "memdev", "tune", "--comp", "tiny", "--trials", "50",
                             "--root", str(paths.root)], env={**os.environ, "PYTHONPATH": str(SRC)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_ten_sigkills_mid_study_lose_no_completed_trial(tiny):
    """The first kill comes once two trials are done; nine more at seeded random moments of a run
    (starting up, opening the study, mid-trial). After each the study loads and keeps every
    completed trial; a last run adds to it."""
    proc = tune_process(tiny)
    deadline = time.time() + 240
    while time.time() < deadline:
        time.sleep(2)
        if tiny.study_db.exists():
            try:
                if len(completed(tiny)[1]) >= 2:
                    break
            except (IndexError, KeyError, sqlalchemy.exc.SQLAlchemyError):  # the worker may be creating the tables
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {t.number for t in completed(tiny)[1]}
    assert len(done) >= 2
    for delay in np.random.default_rng(0).uniform(1, 8, size=9):
        proc = tune_process(tiny)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = {t.number for t in completed(tiny)[1]}
        assert done <= now
        done = now
    result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
    assert result.returncode == 0, result.stderr
    study, kept = completed(tiny)
    finished = {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    assert done <= {t.number for t in kept}
    assert max(t.number for t in study.trials if t.state in finished) > max(done)  # the last run's trial finished


def test_two_workers_on_one_sqlite_file_share_the_study(tiny):
    procs = [subprocess.Popen([sys.executable, "-m", "memdev", "tune", "--comp", "tiny", "--trials", "2",
                               "--root", str(tiny.root)], env={**os.environ, "PYTHONPATH": str(SRC)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    study, _ = completed(tiny)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == 4 == len(set(numbers))
    assert all(t.state.is_finished() for t in study.trials)
