"""Fewer labeled anomalies than folds never crash: fewer folds, or the label-free candidates, each said in one line."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import FAST, memdev
from memdev.paths import Paths


def competition(root, positives: int) -> Paths:
    """A 200-row labeled competition with ``positives`` labeled anomalies, trained through the CLI below."""
    rng = np.random.default_rng(0)
    y = np.zeros(260, dtype=int)
    y[:positives] = 1
    X = rng.normal(size=(260, 5)) + 3 * y[:, None]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(id=range(260), target=y)
    paths = Paths("few", root)
    paths.raw.mkdir(parents=True)
    train, test = frame.iloc[np.r_[0:positives, 60:260]], frame.iloc[positives:60]
    train.to_csv(paths.train_csv, index=False)
    test.drop(columns="target").to_csv(paths.test_csv, index=False)
    test[["id"]].assign(target=0).to_csv(paths.sample_csv, index=False)
    assert memdev(root, "data", "--comp", "few").returncode == 0
    data = yaml.safe_load(paths.config.read_text())
    data.update({**{k: {**data[k], **v} if isinstance(v, dict) else v for k, v in FAST.items()},
                 "folds": 5, "regime": "weak", "stacking": "auto"})
    paths.config.write_text(yaml.safe_dump(data))
    return paths


def train_and_submit(paths: Paths) -> str:
    out = ""
    for stage in ("train", "submit"):
        result = memdev(paths.root, stage, "--comp", "few")
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        out += result.stdout
    return out


@pytest.mark.slow
def test_three_labeled_anomalies_cross_validate_with_three_stratified_folds(tmp_path):
    paths = competition(tmp_path, positives=3)
    out = train_and_submit(paths)
    assert out.count("only 3 labeled anomalies: cross-validating with 3 stratified folds instead of 5") == 1
    cv = json.loads(paths.cv.read_text())
    assert len(cv["per_fold"]) == 3 and cv["value"] is not None and "nested CV" in out
    assert np.bincount(np.load(paths.folds)).size == 3


@pytest.mark.slow
def test_one_labeled_anomaly_falls_back_to_the_label_free_candidates(tmp_path):
    paths = competition(tmp_path, positives=1)
    out = train_and_submit(paths)
    assert "1 labeled anomaly: too few to cross-validate a supervised model; using the label-free candidates" in out
    cv = json.loads(paths.cv.read_text())
    assert (cv["model"], cv["value"], cv["threshold"]["strategy"]) == ("iforest", None, "quantile")
    assert set(pd.read_parquet(paths.oof).columns) == {"fold", "y", "memae", "iforest", "lof"}
