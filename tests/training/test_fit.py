"""`memdev fit` (what `make train` runs): the fold models it saves."""

import pickle

from memdev import config as config_io
from memdev.features import preprocess
from memdev.features.codes import CategoryCodes
from memdev.ingest import schema
from memdev.training import fit


def test_with_every_label_known_the_saved_boosters_read_the_categorical_column_as_codes(competition):
    paths = competition()  # two numeric columns, then the two one-hot columns of "colour"
    config = schema.detect(paths).with_params({
        "regime": "full", "folds": 2, "memae.epochs": 2, "memae.hidden": [16], "memae.patience": 1,
        "head.epochs": 2, "head.steps_per_epoch": 3})
    config_io.save(config, paths.config)
    preprocess.run(config, paths)
    fit.run(config, paths)
    for name in ("gbm", "stack"):
        codes = pickle.loads(paths.boosted(name, 0).read_bytes())[0]
        assert isinstance(codes, CategoryCodes) and codes.blocks == ((2, 3),), name
