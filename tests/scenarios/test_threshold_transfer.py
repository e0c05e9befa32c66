"""Thresholds transfer from out-of-fold scores to test scores: the share of test rows called anomalous is the promised one.

Through the real path (`memdev train`, `memdev submit`) on a novelty competition
whose test rows are fresh normal rows: a ``quantile`` q threshold must call about
1 - q of them anomalous, a ``contamination`` threshold exactly its rate.
"""

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import FAST, memdev
from memdev.paths import Paths
from memdev.training.summary import CVSummary

pytestmark = pytest.mark.slow


def stage(paths: Paths, name: str) -> str:
    result = memdev(paths.root, name, "--comp", "fresh")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def configure(paths: Paths, threshold: dict) -> None:
    data = yaml.safe_load(paths.config.read_text())
    data.update({k: {**data[k], **v} if isinstance(v, dict) else v for k, v in FAST.items()})
    data["threshold"] = {**data["threshold"], **threshold}
    paths.config.write_text(yaml.safe_dump(data))


def test_quantile_and_contamination_thresholds_call_the_promised_share_of_fresh_normal_rows(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(5000, 6))
    frame = pd.DataFrame(rows, columns=[f"f{i}" for i in range(6)]).assign(id=range(5000))
    paths = Paths("fresh", tmp_path)
    paths.raw.mkdir(parents=True)
    frame.iloc[:1000].to_csv(paths.train_csv, index=False)  # normal rows only: regime novelty
    frame.iloc[1000:].to_csv(paths.test_csv, index=False)  # 4,000 fresh rows from the same distribution
    frame.iloc[1000:][["id"]].assign(label=0).to_csv(paths.sample_csv, index=False)
    assert memdev(tmp_path, "data", "--comp", "fresh").returncode == 0
    assert yaml.safe_load(paths.config.read_text())["regime"] == "novelty"

    configure(paths, {"strategy": "quantile", "quantile": 0.95})
    stage(paths, "train")
    called = pd.read_csv(tmp_path / stage(paths, "submit"))["label"].mean()
    # 1 - q = 5%: each fold model's share of test rows at or above the value, averaged; within two standard
    # errors (0.7 points) of a 95th percentile of 1,000 out-of-fold scores
    assert abs(called - 0.05) < 0.015, called

    configure(paths, {"strategy": "contamination", "contamination": 0.1})
    stage(paths, "fit")  # a config edit: every stage built under the old one is rebuilt
    assert pd.read_csv(tmp_path / stage(paths, "submit"))["label"].sum() == 400  # exactly 10% of 4,000


def test_an_f1_cut_calls_the_test_rows_anomalies_where_the_test_set_holds_fewer_than_train(tmp_path):
    rng = np.random.default_rng(1)
    y = np.r_[np.arange(1000) < 100, np.arange(4000) < 80].astype(int)  # 10% of train.csv, 2% of test.csv
    rows = rng.normal(size=(5000, 6)) + 3 * y[:, None]
    frame = pd.DataFrame(rows, columns=[f"f{i}" for i in range(6)]).assign(id=range(5000), label=y)
    paths = Paths("fresh", tmp_path)
    paths.raw.mkdir(parents=True)
    frame.iloc[:1000].to_csv(paths.train_csv, index=False)
    frame.iloc[1000:].drop(columns="label").to_csv(paths.test_csv, index=False)
    frame.iloc[1000:][["id"]].assign(label=0).to_csv(paths.sample_csv, index=False)
    assert memdev(tmp_path, "data", "--comp", "fresh").returncode == 0
    configure(paths, {})
    data = yaml.safe_load(paths.config.read_text())
    paths.config.write_text(yaml.safe_dump({**data, "folds": 3, "stacking": "auto"}))
    stage(paths, "train")
    submitted = memdev(tmp_path, "submit", "--comp", "fresh")
    called = pd.read_csv(tmp_path / submitted.stdout.strip().splitlines()[-1])["label"]
    # each fold model meets the cut on its own scores: about the 2% the test rows hold, not train.csv's 10%
    assert abs(called.mean() - 0.02) < 0.005, called.mean()
    assert "the test rows hold another share of anomalies, and that share is called" in submitted.stdout


def test_with_a_few_labels_the_weak_regimes_cut_calls_about_the_share_of_anomalies_the_unlabeled_rows_hide(tmp_path):
    rng = np.random.default_rng(2)
    truth = np.r_[np.arange(2000) < 200, np.arange(2000) < 200].astype(int)  # 10% of train.csv and of test.csv
    rows = rng.normal(size=(4000, 6)) + 3 * truth[:, None]
    labeled = np.zeros(2000, dtype=int)
    labeled[rng.choice(200, 20, replace=False)] = 1  # 20 of train.csv's 200 anomalies labeled, the rest 0
    frame = pd.DataFrame(rows, columns=[f"f{i}" for i in range(6)]).assign(id=range(4000))
    paths = Paths("fresh", tmp_path)
    paths.raw.mkdir(parents=True)
    frame.iloc[:2000].assign(label=labeled).to_csv(paths.train_csv, index=False)
    frame.iloc[2000:].to_csv(paths.test_csv, index=False)
    frame.iloc[2000:][["id"]].assign(label=0).to_csv(paths.sample_csv, index=False)
    assert memdev(tmp_path, "data", "--comp", "fresh").returncode == 0
    configure(paths, {})
    data = yaml.safe_load(paths.config.read_text())
    assert data["regime"] == "weak"
    paths.config.write_text(yaml.safe_dump({**data, "folds": 3, "stacking": "auto"}))
    stage(paths, "train")
    assert CVSummary.load(paths).threshold.strategy == "pu"
    called = pd.read_csv(tmp_path / stage(paths, "submit"))["label"].to_numpy()
    # 1% of the rows are labeled anomalies, 10% are anomalies; recall² / share called peaks a little short of
    # that where 20 labels fall at random among 200 alike
    assert 0.04 < called.mean() < 0.13, called.mean()
    assert (called & truth[2000:]).sum() > 0.9 * called.sum()
