"""Optuna tuning: the search space, resumable studies, kills and parallel workers."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import optuna
import pytest
import yaml

from conftest import SRC, memdev
from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.tuning import tune


def completed(paths):
    summaries = optuna.get_all_study_summaries(f"sqlite:///{paths.study_db}")
    study = optuna.load_study(study_name=summaries[0].study_name, storage=f"sqlite:///{paths.study_db}")
    return study, [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


@pytest.mark.parametrize("override, message", [
    ({"memae.nonsense": {"low": 1, "high": 2}}, "unknown parameter 'memae.nonsense'"),
    ({"memae.memory_size": {"low": 100, "high": 10}}, "low 100 > high 10"),
    ({"memae.optimizer": {"choices": ["adam", "lbfgs"]}}, "unknown choice 'lbfgs'"),
])
def test_a_bad_search_space_is_refused_before_any_trial(tiny, override, message):
    config = config_io.load(tiny.config).with_params({"search_space": override})
    with pytest.raises(MemdevError, match=message):
        tune.search_space(config, np.array([0, 1, 0]))


def test_tuning_resumes_the_same_study_and_writes_the_winner(tiny):
    for _ in range(2):
        result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "2")
        assert result.returncode == 0, result.stderr
    study, done = completed(tiny)
    assert len(study.trials) == 4 and len(done) + len(study.get_trials(states=[optuna.trial.TrialState.PRUNED])) == 4
    best = yaml.safe_load(tiny.best_params.read_text())
    assert best["trial"] == study.best_trial.number and "memae.memory_size" in best["params"]
    assert (tiny.reports / "tune_history.png").stat().st_size > 0


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
            except (IndexError, KeyError):
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
    assert done < {t.number for t in completed(tiny)[1]}


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
