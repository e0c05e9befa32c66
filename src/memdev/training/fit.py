"""`memdev fit` (what `make train` runs): pretrain, then finetune, in one process.

One TensorFlow start-up, the fold MemAEs handed over in memory, and the
candidates no MemAE changes (``gbm``, ``catboost``, ``iforest``, ``lof``) fitted on the
fold pool while the MemAEs train: TensorFlow's small steps keep about one
core busy, so a second core is otherwise idle then. Where nothing those four
are built from changed since the last run, its fold models are taken instead.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from memdev.config import Config
from memdev.features import preprocess
from memdev.models.candidates import FIXED, SUPERVISED
from memdev.paths import Paths
from memdev.training import finetune, pretrain, stamps
from memdev.training import folds as folds_io

log = logging.getLogger(__name__)


def run(config: Config, paths: Paths) -> None:
    stamps.check(config, paths, "pretrain")
    # loaded (and checked against the manifest) once: a memory map opened per stage would count
    # the same pages of X twice in the resident set while the early fits hold the first
    features = X, y, _ = preprocess.load_features(paths)
    folds = folds_io.assign(y, config)
    count = folds_io.count(folds)
    fixed = [name for name in finetune.candidates(config, y) if name in FIXED]
    pool = ThreadPoolExecutor(finetune.workers(config, count))
    try:
        cache = finetune.reusable(config, paths, folds)
        taken = [name for name in fixed if (name, 0) in cache]
        if taken:
            log.info(f"train: {', '.join(taken)} as the last run fitted them (nothing they are built from changed)")
        kept = finetune.trusted_mask(config, X, y, cache) if set(SUPERVISED) & set(fixed) else None
        cache.update(finetune.queue_fixed(pool, config, X, y, folds,
                                          [(name, k) for k in range(count) for name in fixed if (name, k) not in cache],
                                          kept))
        finetune.run(config, paths, pretrain.run(config, paths, features, folds), cache, features)
    finally:  # a failed stage leaves the fits nobody will wait for
        pool.shutdown(cancel_futures=True)
