"""What every study reads: the trained outputs (refused when they describe other features) and the image layout."""

import shutil

import numpy as np
import pytest
import trained_toy

from memdev import manifest
from memdev.errors import MemdevError
from memdev.reporting.studies import common, outliers, scorers


def test_image_layout_follows_the_transformer_columns():
    inputs = [f"pixel{i}" for i in range(64)]
    kept = [name for name in inputs if name not in ("pixel0", "pixel32", "pixel39")]
    side, pixel, columns = common.image_layout(kept, inputs)
    assert side == 8 and len(pixel) == 61 and pixel[0] == 1 and pixel[31] == 33 and columns == inputs
    side, pixel, _ = common.image_layout([f"x{i}" for i in range(16)], [])
    assert side == 4 and pixel.tolist() == list(range(16))
    assert common.image_layout([f"x{i}" for i in range(15)], []) is None
    assert common.image_layout([f"x{i}" for i in range(9)], []) is None  # 3x3 is too small to convolve


def test_the_trained_outputs_and_the_feature_names(tmp_path_factory):
    config, paths = trained_toy.labeled(tmp_path_factory)
    loaded = common.load(config, paths)
    assert loaded.X.shape == (trained_toy.ROWS, 16) and loaded.labeled and loaded.fold_count == 3
    assert sorted(np.unique(loaded.fold_of)) == [0, 1, 2] and len(loaded.oof) == trained_toy.ROWS
    names, inputs = common.feature_names(paths, 16)
    assert len(names) == 16 and set(inputs) == {f"x{i}" for i in range(15)} | {"group"}
    assert common.feature_names(paths, 17) == ([f"feature{i}" for i in range(17)], [])
    held = [rows for rows, _ in loaded.memaes(config, paths)]
    assert sorted(np.concatenate(held).tolist()) == list(range(trained_toy.ROWS))  # every row once, out of fold


def test_studies_refuse_models_of_other_features_or_none_at_all(tmp_path_factory, tmp_path):
    """Fold MemAEs pretrained on other features must not score these rows."""
    config, paths = trained_toy.labeled(tmp_path_factory)
    copy = trained_toy.copy(paths, tmp_path / "changed")
    X = np.load(copy.x_train)
    np.save(copy.x_train, X + 1.0)  # features changed after training (the manifest is updated to match)
    manifest.record(copy, [copy.x_train])
    with pytest.raises(MemdevError, match=r"cv\.json: made from other features than .*make train COMP=toy"):
        outliers.run(config, copy, k=5)
    shutil.rmtree(copy.models)
    with pytest.raises(MemdevError, match=r"no trained models; run `make train COMP=toy` first"):
        scorers.run(config, copy)
    copy = trained_toy.copy(paths, tmp_path / "no-folds")
    copy.folds.unlink()
    with pytest.raises(MemdevError, match=r"models: no trained models; run `make train COMP=toy` first"):
        common.load(config, copy)
