"""`memdev fit` (`make train`) refits what a config edit changes: the candidates no MemAE changes (gbm,
catboost, IsolationForest, LOF) are taken from the last run where nothing they are built from changed."""

import numpy as np
import pandas as pd
import yaml

from conftest import memdev
from memdev import config as config_io
from memdev.features import preprocess
from memdev.training import finetune, stamps
from memdev.training import folds as folds_io

TAKEN = "as the last run fitted them"


def edit(paths, **changes):
    data = yaml.safe_load(paths.config.read_text())
    for key, value in changes.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    paths.config.write_text(yaml.safe_dump(data))


def fit(paths) -> str:
    result = memdev(paths.root, "fit", "--comp", paths.slug)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_after_an_edit_of_the_head_the_detectors_are_taken_and_score_as_before(tiny):
    assert TAKEN not in fit(tiny)
    before = pd.read_parquet(tiny.oof)
    edit(tiny, head={"epochs": 3})
    assert "train: iforest, lof " + TAKEN in fit(tiny)
    after = pd.read_parquet(tiny.oof)
    for name in ("iforest", "lof"):
        np.testing.assert_array_equal(after[name], before[name])
    # the next run takes them again: the stamp is the models' own, not the run's
    edit(tiny, memae={"epochs": 1})
    assert TAKEN in fit(tiny)


def test_another_seed_folds_or_labels_refit_them(trained):
    edit(trained, seed=1)
    assert memdev(trained.root, "preprocess", "--comp", "tiny").returncode == 0  # the seed is one of its keys
    assert TAKEN not in fit(trained)
    edit(trained, folds=3)
    assert TAKEN not in fit(trained)
    labels = np.load(trained.y_train)
    labels[np.flatnonzero(labels == 0)[0]] = 1
    np.save(trained.y_train, labels)
    from memdev import manifest

    manifest.record(trained, [trained.y_train])
    assert TAKEN not in fit(trained)
    assert TAKEN in fit(trained)  # nothing changed since


def test_models_fitted_by_other_code_are_not_taken(trained, monkeypatch):
    config = config_io.load(trained.config)
    _, y, _ = preprocess.load_features(trained)
    folds = folds_io.assign(y, config)
    assert finetune.reusable(config, trained, folds)
    monkeypatch.setattr(stamps, "code_digest", lambda: "another memdev")
    assert finetune.reusable(config, trained, folds) == {}
