"""Same config and seed on the same machine: the same submission bytes; stale models refused."""

import dataclasses
import shutil

import numpy as np
import pandas as pd
import yaml

from conftest import memdev
from memdev.training.summary import CVSummary


def _train_and_submit(root):
    for stage in ("train", "submit"):
        result = memdev(root, stage, "--comp", "tiny")
        assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _set(paths, **values):
    data = yaml.safe_load(paths.config.read_text())
    data.update(values)
    paths.config.write_text(yaml.safe_dump(data))


def test_same_seed_gives_byte_identical_submissions(tiny):  # noqa: F811
    _set(tiny, submission="score", stacking="auto")
    first = tiny.root / _train_and_submit(tiny.root)
    oof = pd.read_parquet(tiny.oof)
    shutil.rmtree(tiny.models)
    second = tiny.root / _train_and_submit(tiny.root)
    assert first != second
    assert first.read_bytes() == second.read_bytes()
    pd.testing.assert_frame_equal(oof, pd.read_parquet(tiny.oof))


def test_a_different_seed_is_allowed_to_differ(tiny):  # noqa: F811
    _set(tiny, submission="score")
    first = tiny.root / _train_and_submit(tiny.root)
    _set(tiny, seed=1)
    second = tiny.root / _train_and_submit(tiny.root)
    a, b = (pd.read_csv(p).iloc[:, 1].to_numpy() for p in (first, second))
    assert not np.array_equal(a, b)


def test_submit_refuses_models_built_for_other_features_or_config(trained):
    _set(trained, seed=7)
    result = memdev(trained.root, "submit", "--comp", "tiny")
    assert result.returncode == 2 and "made under another config" in result.stderr
    _set(trained, seed=0)
    np.save(trained.x_test, np.load(trained.x_test) + 1)
    result = memdev(trained.root, "submit", "--comp", "tiny")
    assert result.returncode == 2 and "X_test.npy: its sha256 is not the one memdev recorded" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_candidate_can_be_submitted_from_the_stored_test_scores(tiny):  # noqa: F811
    from memdev.submission import submit

    _set(tiny, submission="score", stacking="auto")
    result = memdev(tiny.root, "train", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    cv = CVSummary.load(tiny)
    assert set(cv.candidates) == {"memae", "devnet", "gbm", "catboost", "stack", "blend", "iforest", "lof", "ensemble"}
    rows = len(pd.read_parquet(tiny.test_ids))
    ensemble = {"devnet": 0.5, "iforest": 0.3, "blend": 0.2}
    for name in cv.candidates:
        scores = submit.test_scores(tiny, dataclasses.replace(cv, model=name, weights=ensemble))
        assert scores.shape == (rows,) and np.all(np.isfinite(scores)), name
