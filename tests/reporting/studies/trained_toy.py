"""The tiny competitions every study test reads, trained once per test session.

Imported by the study tests beside it (``import trained_toy``). Training takes
a while on two cores, so each competition is trained the first time a test
module asks for it and shared from then on; a test that changes the files
works on a copy (:func:`copy`).
"""

import shutil

import numpy as np
import pandas as pd

from conftest import fast_config, write_competition
from memdev.config import HeadConfig, MemAEConfig
from memdev.features import preprocess
from memdev.paths import Paths
from memdev.training import finetune, pretrain

PNG = b"\x89PNG\r\n\x1a\n"
ROWS, TEST_ROWS, ANOMALIES = 300, 100, 30
_TRAINED = {}


def frames(seed: int = 0, labeled: bool = True):
    """15 numeric columns plus a 4-level `group` column: 16 features, a 4x4 'image'.

    Every tenth row is an anomaly, shifted by +3 in every numeric column;
    anomalies sit in group 3, normal rows in groups 0 to 3 alike.
    """
    rng = np.random.default_rng(seed)
    n = ROWS + TEST_ROWS
    target = (np.arange(n) % 10 == 0).astype(int)
    values = rng.normal(size=(n, 15)) + 3.0 * target[:, None]
    frame = pd.DataFrame(values.round(4), columns=[f"x{i}" for i in range(15)])
    frame.insert(0, "id", np.arange(n) + 5000)
    frame["group"] = np.where(target == 1, 3, rng.integers(0, 4, n))
    train = frame.iloc[:ROWS].reset_index(drop=True)
    if labeled:
        train = train.assign(target=target[:ROWS])
    test = frame.iloc[ROWS:].reset_index(drop=True)
    return train, test, pd.DataFrame({"id": test["id"], "target": 0})


def study_config(epochs: int = 25, **overrides):
    """3 folds, a MemAE trained to its early stop, and a DevNet head with a real budget: 20 epochs x 10 steps.

    On 3 epochs x 5 steps the head's scores were mostly its initial weights (out-of-fold AUC-ROC 0.70 with
    all four inputs, 0.36 with the features alone); on 200 steps both reach 1.0, so what a study measures
    is the inputs, not the initialisation.
    """
    return fast_config(
        folds=3,
        memae=MemAEConfig(hidden=[16], latent=4, memory_size=10, epochs=epochs, batch_size=32, patience=5),
        head=HeadConfig(units=8, epochs=20, steps_per_epoch=10, batch_size=32),
        **overrides,
    )


def labeled(tmp_path_factory):
    """A labeled competition taken through preprocess, pretrain and finetune (3 folds): (config, paths)."""
    return _trained("toy", tmp_path_factory, study_config(), frames())


def unlabeled(tmp_path_factory):
    """The same rows without a target column (a novelty competition), trained: (config, paths)."""
    config = study_config(epochs=5, target_column=None, regime="novelty")
    return _trained("plain", tmp_path_factory, config, frames(seed=1, labeled=False))


def _trained(slug, tmp_path_factory, config, competition):
    if slug not in _TRAINED:
        paths = write_competition(Paths(slug, tmp_path_factory.mktemp("studies")), *competition)
        preprocess.run(config, paths)
        pretrain.run(config, paths)
        finetune.run(config, paths)
        _TRAINED[slug] = config, paths
    return _TRAINED[slug]


def copy(paths: Paths, root) -> Paths:
    """The competition's folder copied below ``root``: to change without touching the shared one."""
    copied = Paths(paths.slug, root)
    shutil.copytree(paths.comp, copied.comp)
    return copied


def assert_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000
