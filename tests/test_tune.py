"""Optuna tuning: the search space, resumable studies, kills and parallel workers."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml

from memdev import config as config_io
from memdev import tune
from memdev.errors import MemdevError
from memdev.paths import Paths

FAST = {"memae": {"epochs": 2, "hidden": [16], "batch_size": 64, "patience": 1},
        "head": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 32}, "folds": 2, "stacking": "off"}


def memdev(root, *args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(Path_src())}
    return subprocess.run([sys.executable, "-m", "memdev", *args, "--root", str(root)],
                          capture_output=True, text=True, env=env, **kwargs)


def Path_src():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def tiny(tmp_path):
    """A 240-row labeled competition, preprocessed, with a config for seconds-long trials."""
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.1).astype(int)
    X = rng.normal(size=(300, 6)) + 3 * y[:, None]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(id=range(300), target=y)
    raw = tmp_path / "data" / "tiny" / "raw"
    raw.mkdir(parents=True)
    frame.iloc[:240].drop(columns=[]).to_csv(raw / "train.csv", index=False)
    frame.iloc[240:].drop(columns=["target"]).to_csv(raw / "test.csv", index=False)
    frame.iloc[240:][["id"]].assign(target=0).to_csv(raw / "sample_submission.csv", index=False)
    assert memdev(tmp_path, "data", "--comp", "tiny").returncode == 0
    paths = Paths("tiny", tmp_path)
    data = yaml.safe_load(paths.config.read_text())
    for key, value in FAST.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    paths.config.write_text(yaml.safe_dump(data))
    result = memdev(tmp_path, "preprocess", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    return paths


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


def test_sigkill_mid_study_loses_no_completed_trial(tiny):
    proc = subprocess.Popen([sys.executable, "-m", "memdev", "tune", "--comp", "tiny", "--trials", "50",
                             "--root", str(tiny.root)], env={**os.environ, "PYTHONPATH": str(Path_src())},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    before = {t.number for t in completed(tiny)[1]}
    assert len(before) >= 2
    result = memdev(tiny.root, "tune", "--comp", "tiny", "--trials", "1")
    assert result.returncode == 0, result.stderr
    after = {t.number for t in completed(tiny)[1]}
    assert before < after


def test_two_workers_on_one_sqlite_file_share_the_study(tiny):
    procs = [subprocess.Popen([sys.executable, "-m", "memdev", "tune", "--comp", "tiny", "--trials", "2",
                               "--root", str(tiny.root)], env={**os.environ, "PYTHONPATH": str(Path_src())},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    study, _ = completed(tiny)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == 4 == len(set(numbers))
    assert all(t.state.is_finished() for t in study.trials)
