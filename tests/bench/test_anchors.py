"""memdev.bench.anchors: IsolationForest and HistGradientBoosting submissions on the pipeline's features."""

import importlib.util

import pandas as pd

from memdev import config as config_io
from memdev.bench.anchors import OPTIONAL, anchors
from memdev.features import preprocess
from memdev.training import folds


def test_anchors_write_valid_label_submissions_on_the_pipelines_folds(tiny):
    config = config_io.load(tiny.config)
    _, y, _ = preprocess.load_features(tiny)
    folds.save(tiny, folds.assign(y, config))
    models = anchors(tiny.root, tiny.slug)
    # LightGBM where requirements-bench.txt is installed; CatBoost always (memdev's own dependency)
    installed = [name for name in OPTIONAL if importlib.util.find_spec(name.lower())]
    assert [m.name for m in models] == ["IsolationForest", "HistGradientBoosting", *installed, "CatBoost"]
    sample = pd.read_csv(tiny.sample_csv)
    for model in models:
        frame = pd.read_csv(model.csv)
        assert list(frame.columns) == list(sample.columns) and frame["id"].tolist() == sample["id"].tolist()
        assert set(frame["target"]) <= {0, 1} and "threshold" in model.note
        assert model.train_seconds >= 0 and model.predict_seconds >= 0 and model.scores == {}
