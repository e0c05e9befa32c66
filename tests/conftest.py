"""Shared fixtures: tiny competitions written in Kaggle's format, fast configs, zips.

Everything here is small on purpose: unit tests train models of a few hundred
parameters for a few epochs, so the whole suite stays within minutes on two
CPU cores.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys

# TensorFlow's C++ start-up chatter is noise in test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from memdev import progress
from memdev.config import Config, HeadConfig, MemAEConfig
from memdev.paths import Paths

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
# the `shared` folder beside the repository (never copied into it)
SHARED_COMPETITIONS = Path(__file__).resolve().parents[2] / "shared" / "competitions"


@pytest.fixture(autouse=True)
def stage_messages(caplog):
    """The stages' INFO lines (what the CLI prints), kept in ``caplog.text`` for the tests that read them.

    A test that runs ``cli.main`` in this process points the package's logger
    at stdout and its progress lines at that test's stderr; both are put back
    afterwards, so later tests still capture (and never write to a closed stream).
    """
    package = logging.getLogger("memdev")
    saved = package.handlers[:], package.propagate, package.level
    caplog.set_level(logging.INFO, logger="memdev")
    yield caplog
    package.handlers[:], package.propagate = saved[:2]
    package.setLevel(saved[2])
    progress.configure(None)


def fast_config(slug: str = "toy", **overrides) -> Config:
    """A labeled config whose models train in about a second."""
    fields = dict(
        slug=slug, id_column="id", target_column="target", submission="label", regime="full", metric="f1",
        folds=2, stacking="off",
        memae=MemAEConfig(hidden=[16], latent=4, memory_size=10, epochs=3, batch_size=64, patience=2),
        head=HeadConfig(units=8, epochs=3, steps_per_epoch=5, batch_size=32),
    )
    fields.update(overrides)
    return Config(**fields)


def labeled_frames(n_train: int = 60, n_test: int = 20, seed: int = 0):
    """train / test / sample frames of a small labeled competition (id 'id', target 'target').

    Two numeric columns, one categorical column with two levels; every tenth
    row is an anomaly.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    frame = pd.DataFrame({
        "id": np.arange(n) + 100,
        "x1": rng.normal(size=n).round(4),
        "x2": rng.integers(0, 50, size=n),
        "colour": np.where(np.arange(n) % 2 == 0, "red", "blue"),
    })
    target = (np.arange(n) % 10 == 0).astype(int)
    train = frame.iloc[:n_train].assign(target=target[:n_train]).reset_index(drop=True)
    test = frame.iloc[n_train:].reset_index(drop=True)
    sample = pd.DataFrame({"id": test["id"], "target": 0})
    return train, test, sample


def write_competition(paths: Paths, train: pd.DataFrame, test: pd.DataFrame, sample: pd.DataFrame, **to_csv) -> Paths:
    """Write the three Kaggle files into ``paths.raw`` (``to_csv`` options pass through)."""
    paths.raw.mkdir(parents=True, exist_ok=True)
    for frame, path in ((train, paths.train_csv), (test, paths.test_csv), (sample, paths.sample_csv)):
        frame.to_csv(path, index=False, **to_csv)
    return paths


@pytest.fixture
def competition(tmp_path):
    """Factory: ``competition(train, test, sample, slug='toy')`` -> Paths with the raw files written."""

    def make(train=None, test=None, sample=None, slug: str = "toy", **to_csv) -> Paths:
        frames = labeled_frames()
        train = frames[0] if train is None else train
        test = frames[1] if test is None else test
        sample = frames[2] if sample is None else sample
        return write_competition(Paths(slug, tmp_path), train, test, sample, **to_csv)

    return make


def write_zip(path: Path, entries: dict) -> Path:
    """A zip of ``{name or ZipInfo: bytes or str}``, deflated."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return path


def symlink_entry(name: str) -> zipfile.ZipInfo:
    """A zip entry that claims to be a symbolic link (to whatever its content names)."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def kaggle_zip_entries(train=None, test=None, sample=None) -> dict[str, str]:
    """The three files of a Kaggle competition zip, from frames (default: labeled_frames())."""
    frames = labeled_frames()
    train = frames[0] if train is None else train
    test = frames[1] if test is None else test
    sample = frames[2] if sample is None else sample
    return {
        "train.csv": train.to_csv(index=False),
        "test.csv": test.to_csv(index=False),
        "sample_submission.csv": sample.to_csv(index=False),
    }


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` with its bytes: to prove nothing was touched."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def shared_competitions() -> Path:
    """The practice competitions in ../shared/competitions, or a skip saying why."""
    if not SHARED_COMPETITIONS.is_dir():
        pytest.skip(f"practice competitions not found at {SHARED_COMPETITIONS} (the `shared` folder beside the repo)")
    return SHARED_COMPETITIONS


def add_study(paths: Paths, name: str, trials: int) -> None:
    """An Optuna study in the competition's SQLite file, as ``make tune`` stores one, with ``trials`` quick trials."""
    import optuna

    paths.comp.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{paths.study_db}", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=trials)


def gaussian_rows(n: int, features: int = 8, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(size=(n, features)) + shift).astype(np.float32)


# A stand-in for the kaggle CLI: logs its arguments, remembers uploads and lists
# them back with a public score, in the real CLI's `--csv` format.
STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$KAGGLE_STUB_LOG"
if [ -n "$KAGGLE_STUB_FAIL" ]; then echo "403 - Forbidden: $KAGGLE_STUB_FAIL" >&2; exit 1; fi
if [ "$2" = "submit" ]; then basename "$5" >> "$KAGGLE_STUB_LOG.uploaded"; fi
if [ "$2" = "submissions" ]; then
  echo "fileName,date,description,status,publicScore,privateScore"
  echo "a.csv,2026-11-22 10:00:00,first,complete,0.81234,"
  echo "b.csv,2026-11-22 11:00:00,second,pending,None,"
  if [ -f "$KAGGLE_STUB_LOG.uploaded" ]; then
    while read -r name; do echo "$name,2026-11-23 08:00:00,uploaded,complete,0.777,"; done < "$KAGGLE_STUB_LOG.uploaded"
  fi
fi
"""


@pytest.fixture
def stub_kaggle(tmp_path, monkeypatch):
    """A fake kaggle executable, credentials in a private kaggle.json, and its call log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kaggle"
    exe.write_text(STUB)
    exe.chmod(0o755)
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    token = home / ".kaggle" / "kaggle.json"
    token.write_text('{"username": "someone", "key": "s3cr3t-key"}')
    token.chmod(0o600)
    log = tmp_path / "calls.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_STUB_LOG", str(log))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    return log


FAST = {"memae": {"epochs": 2, "hidden": [16], "batch_size": 64, "patience": 1},
        "head": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 32}, "folds": 2, "stacking": "off"}


def memdev(root, *args, **kwargs) -> subprocess.CompletedProcess:
    """``python -m memdev ARGS --root ROOT`` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "memdev", *args, "--root", str(root)],
                          capture_output=True, text=True, env=env, **kwargs)


def completed(paths: Paths):
    """The study ``make tune`` keeps in ``paths``' SQLite file, and its completed trials."""
    import optuna

    summaries = optuna.get_all_study_summaries(f"sqlite:///{paths.study_db}")
    study = optuna.load_study(study_name=summaries[0].study_name, storage=f"sqlite:///{paths.study_db}")
    return study, [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


@pytest.fixture(scope="session")
def tiny_template(tmp_path_factory) -> Path:
    """The project root of :func:`tiny`, made once per test process."""
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.1).astype(int)
    X = rng.normal(size=(300, 6)) + 3 * y[:, None]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(id=range(300), target=y)
    raw = root / "data" / "tiny" / "raw"
    raw.mkdir(parents=True)
    frame.iloc[:240].to_csv(raw / "train.csv", index=False)
    frame.iloc[240:].drop(columns=["target"]).to_csv(raw / "test.csv", index=False)
    frame.iloc[240:][["id"]].assign(target=0).to_csv(raw / "sample_submission.csv", index=False)
    assert memdev(root, "data", "--comp", "tiny").returncode == 0
    paths = Paths("tiny", root)
    data = yaml.safe_load(paths.config.read_text())
    for key, value in FAST.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    data["regime"] = "full"
    paths.config.write_text(yaml.safe_dump(data))
    result = memdev(root, "preprocess", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def tiny(tmp_path, tiny_template):
    """A 240-row fully labeled competition, preprocessed, with a config for seconds-long trials.

    Its 24 anomalies would make ``make data`` detect a weak regime; the config says every one is labeled.
    Each test gets its own copy of the project (file times kept, so stages see what they would have seen).
    """
    shutil.copytree(tiny_template, tmp_path, dirs_exist_ok=True)
    return Paths("tiny", tmp_path)


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory, tiny_template) -> Path:
    """The project root of :func:`trained`, made once per test process."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(tiny_template, root, dirs_exist_ok=True)
    result = memdev(root, "train", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def trained(tmp_path, trained_template):
    """:func:`tiny` after ``memdev train``, a copy of its own for each test."""
    shutil.copytree(trained_template, tmp_path, dirs_exist_ok=True)
    return Paths("tiny", tmp_path)
