"""Every stage refuses inputs built from another config or other features, naming the command that rebuilds them.

Each stage that builds something stamps it with what it was built from:
preprocess the features (``features.json``: the config keys it reads),
pretrain the fold MemAEs (``pretrain.json``, written by
:mod:`~memdev.training.pretrain` and read here only) and finetune the fold
models (``cv.json``): the whole config's digest, tuned parameters included,
and the features' sha256. make's file targets re-run a stage when its inputs
change; :func:`check` holds the same line, in one place, when a stage runs
directly (``python -m memdev finetune``, the notebook).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from importlib import import_module
from pathlib import Path

import memdev
from memdev import manifest
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.features import preprocess
from memdev.paths import Paths
from memdev.training.summary import CVSummary

# the stamped outputs each stage reads, by the stage that wrote them
READS = {
    "pretrain": ("preprocess",),
    "tune": ("preprocess",),
    "finetune": ("preprocess", "pretrain"),
    "submit": ("preprocess", "finetune"),
    "report": ("finetune",),
    "studies": ("preprocess", "finetune"),
}
# the make target that rebuilds each stage's outputs, and the same without make
REBUILD = {"preprocess": "preprocess", "pretrain": "pretrain", "finetune": "train"}
# the libraries that fit the candidates no MemAE changes, besides memdev's own code (:func:`fixed_of`)
LIBRARIES = ("numpy", "sklearn", "xgboost", "catboost")


def of(config: Config, paths: Paths) -> dict[str, str]:
    """What models built now would be built from: the config's digest and the features' sha256 (finetune's stamp)."""
    return {
        "config": config.digest(),
        "transformer": manifest.digest(paths, paths.transformer),
        "x_train": manifest.digest(paths, paths.x_train),
        "x_test": manifest.digest(paths, paths.x_test),
    }


def fixed_of(config: Config, paths: Paths) -> str:
    """What the fold models of the candidates no MemAE changes (``gbm``, ``catboost``, ``iforest``, ``lof``)
    are built from: the training features and labels, the config keys they read (seed, folds, regime, the
    boosters' threads), memdev's code and the libraries' versions. Finetune stamps it; a later run with the
    same takes those fold models instead of fitting them again
    (:func:`memdev.training.finetune.reusable`).
    """
    parts = {"seed": config.seed, "folds": config.folds, "regime": config.regime, "threads": config.threads.boosting,
             "x_train": manifest.digest(paths, paths.x_train), "y_train": manifest.digest(paths, paths.y_train),
             "code": code_digest(), "libraries": {name: import_module(name).__version__ for name in LIBRARIES}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


@functools.cache
def code_digest() -> str:
    """The sha256 of memdev's source: a fold model fitted by other code is not taken."""
    digest = hashlib.sha256()
    package = Path(memdev.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check(config: Config, paths: Paths, stage: str) -> None:
    """Refuse to run ``stage`` on outputs of earlier stages built from another config or other features."""
    for producer in READS[stage]:
        source, found, expected = _stamps(producer, config, paths)
        rebuild = (f"run `make {REBUILD[producer]} COMP={paths.slug}` "
                   f"(or `python -m memdev {REBUILD[producer]} --comp {paths.slug}`)")
        if not found:
            raise MemdevError(f"{source}: missing or made by an older memdev; {rebuild} first")
        for key, value in expected.items():
            if found.get(key) == value:
                continue
            if key == "config":
                tuned = f" and {paths.best_params}" if paths.best_params.exists() else ""
                raise MemdevError(f"{source}: made under another config than the one in {paths.config}{tuned} now; "
                                  f"{rebuild} first")
            raise MemdevError(f"{source}: made from other features than the ones in {paths.features} now; {rebuild} first")


def _stamps(producer: str, config: Config, paths: Paths) -> tuple:
    """``(file, its stamp, the stamp a rebuild now would write)`` of ``producer``'s outputs."""
    if producer == "preprocess":
        return paths.features_info, preprocess.load_info(paths).get("stamp", {}), {
            "config": preprocess.config_digest(config)}
    if producer == "pretrain":
        found = json.loads(paths.pretrained.read_text(encoding="utf-8")) if paths.pretrained.exists() else {}
        return paths.pretrained, found, {
            "config": config.digest(), "features": manifest.digest(paths, paths.x_train)}
    return paths.cv, CVSummary.load(paths).stamp, of(config, paths)


def trained(config: Config, paths: Paths) -> CVSummary | None:
    """The CV summary of the models on disk if they were built from today's features (under any config), else None."""
    if not paths.cv.exists():
        return None
    summary = CVSummary.load(paths)
    built = {key: value for key, value in of(config, paths).items() if key != "config"}
    return summary if all(summary.stamp.get(key) == value for key, value in built.items()) else None


def renew(paths: Paths) -> None:
    """Mark the models on disk newer than best_params.yaml: they are of its parameters, so make keeps them."""
    for stamp in (paths.pretrained, paths.cv):
        os.utime(stamp)
