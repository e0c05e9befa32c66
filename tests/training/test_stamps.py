"""Every stage refuses inputs built from another config or other features, naming the command that rebuilds them,
whether make runs it or the user does (`python -m memdev <stage>`)."""

import numpy as np
import yaml

from conftest import memdev


def edit(paths, section, key, value):
    data = yaml.safe_load(paths.config.read_text())
    data.setdefault(section, {})[key] = value
    paths.config.write_text(yaml.safe_dump(data))


def test_memdev_finetune_after_a_config_edit_refuses_the_old_memaes(trained):
    edit(trained, "memae", "epochs", 3)
    cv = trained.cv.read_bytes()
    result = memdev(trained.root, "finetune", "--comp", "tiny")
    assert result.returncode == 2 and trained.cv.read_bytes() == cv
    assert "pretrain.json: made under another config" in result.stderr
    assert "`make pretrain COMP=tiny` (or `python -m memdev pretrain --comp tiny`)" in result.stderr
    assert memdev(trained.root, "pretrain", "--comp", "tiny").returncode == 0
    assert memdev(trained.root, "finetune", "--comp", "tiny").returncode == 0  # rebuilt: accepted


def test_memdev_submit_and_report_refuse_models_of_another_config_or_other_features(trained):
    edit(trained, "head", "epochs", 3)
    for stage in ("submit", "report", "outliers"):
        result = memdev(trained.root, stage, "--comp", "tiny")
        assert result.returncode == 2, stage
        assert "cv.json: made under another config" in result.stderr, stage
        assert "`make train COMP=tiny` (or `python -m memdev train --comp tiny`)" in result.stderr, stage
    assert memdev(trained.root, "train", "--comp", "tiny").returncode == 0
    np.save(trained.x_test, np.load(trained.x_test) + 1)  # the test features changed since the models were trained
    from memdev import manifest

    manifest.record(trained, [trained.x_test])
    result = memdev(trained.root, "submit", "--comp", "tiny")
    assert result.returncode == 2 and "cv.json: made from other features" in result.stderr


def test_every_stage_refuses_features_made_under_another_config(tiny):
    data = yaml.safe_load(tiny.config.read_text())
    data["label_map"] = {"1": 1, "0": 0}  # changes what preprocess makes of the target column
    tiny.config.write_text(yaml.safe_dump(data))
    for stage in ("pretrain", "tune"):
        result = memdev(tiny.root, stage, "--comp", "tiny")
        assert result.returncode == 2, stage
        assert "features.json: made under another config" in result.stderr, stage
        assert "`make preprocess COMP=tiny` (or `python -m memdev preprocess --comp tiny`)" in result.stderr, stage
