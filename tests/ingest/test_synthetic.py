"""Large competitions: the synthetic generator and the chunked preprocessing path."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.features import preprocess
from memdev.ingest import synthetic
from memdev.paths import Paths


@pytest.fixture
def synth(tmp_path, monkeypatch):
    """A small synthetic competition, written in several chunks."""
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 700)

    def make(rows=3000, **kwargs):
        paths = Paths("synth", tmp_path)
        synthetic.generate(paths, rows, **kwargs)
        return paths
    return make


def test_the_generator_writes_a_kaggle_competition_of_the_requested_shape(synth):
    paths = synth(rows=4000, columns=12, categorical=3, rate=0.05, seed=1)
    train, test = pd.read_csv(paths.train_csv), pd.read_csv(paths.test_csv)
    sample, solution = pd.read_csv(paths.sample_csv), pd.read_csv(paths.solution)
    assert train.shape == (4000, 12 + 2) and test.shape == (1000, 12 + 1)
    assert list(train.columns[[0, -1]]) == ["id", "anomaly"]
    assert sum(train[c].dtype == object or str(train[c].dtype) == "str" for c in train.columns) == 3
    assert train["id"].is_unique and not set(train["id"]) & set(test["id"])
    assert list(sample.columns) == ["id", "anomaly"] and (sample["id"] == test["id"]).all()
    assert (solution["id"] == test["id"]).all() and set(solution["Usage"]) == {"Public", "Private"}
    # the solution stays out of the pipeline's inputs
    assert paths.solution.parent == paths.comp and not (paths.raw / paths.solution.name).exists()
    assert train["anomaly"].mean() == pytest.approx(0.05, abs=0.015)
    assert solution["anomaly"].mean() == pytest.approx(0.05, abs=0.03)
    config = config_io.load(paths.config)
    assert (config.id_column, config.target_column, config.regime, config.submission) == ("id", "anomaly", "full", "label")


def test_the_generator_is_reproducible_and_refuses_impossible_shapes(synth, tmp_path):
    first = synth(seed=3).train_csv.read_bytes()
    (tmp_path / "data" / "synth" / "config.yaml").unlink()
    assert synth(seed=3).train_csv.read_bytes() == first
    with pytest.raises(MemdevError, match="categorical"):
        synth(columns=4, categorical=5)


def test_anomalies_are_learnable_but_not_from_one_column(synth):
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_auc_score

    paths = synth(rows=3000, columns=12, categorical=2, rate=0.1)
    train = pd.read_csv(paths.train_csv)
    y = train.pop("anomaly")
    X = train.filter(like="num").fillna(0).to_numpy()
    X = np.arcsinh((X - np.median(X, axis=0)) / X.std(axis=0))
    # the normal rows' low-rank structure gives the anomalies away; no single column does
    pca = PCA(synthetic.FACTORS).fit(X[y == 0])
    error = ((X - pca.inverse_transform(pca.transform(X))) ** 2).sum(axis=1)
    best_single = max(max(roc_auc_score(y, x), roc_auc_score(y, -x)) for x in X.T)
    assert roc_auc_score(y, error) > 0.75 > best_single


def chunked(config):
    return dataclasses.replace(config, chunked_from_mb=0)


def test_local_anomalies_are_outliers_only_against_their_own_cluster(synth):
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import average_precision_score
    from sklearn.neighbors import LocalOutlierFactor

    train = pd.read_csv(synth(rows=4000, columns=26, categorical=2, rate=0.05, anomalies="local").train_csv)
    X, y = train.filter(like="num").fillna(0).to_numpy(), train["anomaly"].to_numpy()
    lof = -LocalOutlierFactor(n_neighbors=20).fit(X).negative_outlier_factor_
    forest = -IsolationForest(random_state=0).fit(X).score_samples(X)
    assert average_precision_score(y, lof) > 3 * max(average_precision_score(y, forest), y.mean())
    with pytest.raises(MemdevError, match="anomalies"):
        synth(anomalies="far")


def test_the_chunked_path_gives_the_in_memory_features(synth, monkeypatch):
    paths = synth()
    config = config_io.load(paths.config)
    preprocess.run(config, paths)
    expected = [np.load(p) for p in (paths.x_train, paths.x_test, paths.y_train)]
    info = json.loads((paths.features / "features.json").read_text())
    monkeypatch.setattr(preprocess, "CHUNK_BYTES", 64 << 10)  # many chunks
    preprocess.run(chunked(config), paths)
    for path, array in zip((paths.x_train, paths.x_test, paths.y_train), expected):
        np.testing.assert_array_equal(np.load(path), array)
    again = json.loads((paths.features / "features.json").read_text())
    assert again.pop("stamp")["train"] == info.pop("stamp")["train"] and again == info  # the stamp names the setting
    assert pd.read_parquet(paths.test_ids)["id"].tolist() == pd.read_csv(paths.test_csv, dtype=str)["id"].tolist()


def test_the_chunked_path_fits_on_a_bounded_sample(synth, caplog):
    paths = synth()
    config = dataclasses.replace(chunked(config_io.load(paths.config)), fit_rows=500)
    preprocess.run(config, paths)
    assert "fitted on 500 random rows of 3,000" in caplog.text
    assert np.load(paths.x_train, mmap_mode="r").shape[0] == 3000


@pytest.mark.parametrize("value, expected", [("inf", "has inf at row 602"), ("oops", "oops")])
def test_the_chunked_path_names_bad_cells_and_keeps_old_features(synth, monkeypatch, value, expected):
    paths = synth()
    config = chunked(config_io.load(paths.config))
    preprocess.run(config, paths)
    before = paths.x_test.read_bytes()
    lines = paths.test_csv.read_text().splitlines()
    cells = lines[601].split(",")
    cells[3] = value
    lines[601] = ",".join(cells)
    paths.test_csv.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(preprocess, "CHUNK_BYTES", 64 << 10)
    with pytest.raises(MemdevError, match=expected) as error:
        preprocess.run(config, paths)
    assert "test.csv" in str(error.value)
    assert paths.x_test.read_bytes() == before
