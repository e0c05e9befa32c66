"""Head-input ablation: CV of the DevNet head with each subset of its inputs (``head.inputs``).

Cross-validation of train.csv only; test labels are never read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memdev.bench.runs import make, prepare
from memdev.config import HEAD_INPUTS

COMPETITIONS = ("thyroid", "mammography", "bank-marketing")

# {"latent,error": {slug: (CV metric, std over folds)}}
Table = dict[str, dict[str, tuple[float, float]]]


def subsets() -> list[list[str]]:
    """All the head's inputs, each one left out, and each one alone."""
    full = list(HEAD_INPUTS)
    return [full] + [[v for v in full if v != left_out] for left_out in full] + [[v] for v in full]


def measure(slug: str, source: Path, root: Path) -> dict[str, tuple[float, float]]:
    """CV of the devnet candidate on ``slug`` for every subset of :func:`subsets`.

    One MemAE per fold is pretrained once; every subset fits its heads on those
    same encoders and folds. Returns {"latent,error": (CV metric, std over folds)}.
    """
    from memdev import config as config_io
    from memdev.features import preprocess
    from memdev.paths import Paths
    from memdev.training import finetune, pretrain
    from memdev.training import folds as folds_io

    prepare(slug, source, root)
    make(root, "preprocess", slug)
    paths = Paths(slug, root)
    config = config_io.load(paths.config).with_params({"stacking": "off"})
    X, y, _ = preprocess.load_features(paths)
    folds = folds_io.assign(y, config)
    memaes, stacked = pretrain.fit_memaes(config, X, y, folds)
    out = {}
    for subset in subsets():
        trial = config.with_params({"head.inputs": subset})
        oof = finetune.cross_validate(trial, X, y, folds, memaes, stacked=stacked).oof["devnet"]
        per_fold = np.std([finetune.cv_score(trial, y[folds == k], oof[folds == k]) for k in range(folds_io.count(folds))])
        name = ",".join(subset)
        out[name] = (finetune.cv_score(trial, y, oof), float(per_fold))
        print(f"  {slug} head.inputs={subset}: CV {config.metric} {out[name][0]:.4f} (fold std {per_fold:.4f})", flush=True)
    return out


def add(table: Table, slug: str, measured: dict[str, tuple[float, float]]) -> None:
    """Put one competition's :func:`measure` into ``table`` as a column."""
    for subset, value in measured.items():
        table.setdefault(subset, {})[slug] = value


def means(table: Table) -> dict[str, float]:
    """Each subset's mean CV over the competitions, best first."""
    mean = {inputs: float(np.mean([value for value, _ in row.values()])) for inputs, row in table.items()}
    return dict(sorted(mean.items(), key=lambda item: -item[1]))
