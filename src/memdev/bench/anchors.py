"""The anchors beside the pipeline: IsolationForest, HistGradientBoosting, and LightGBM and CatBoost.

LightGBM is an optional benchmark dependency (``pip install -r
requirements-bench.txt``): skipped, with a note, where it is not installed;
CatBoost is memdev's own (its ``catboost`` candidate). Every anchor runs at
its library defaults. Fitted in this process on the pipeline's own preprocessed matrices, labels and
CV folds; each writes a submission the way ``make submit`` does
(:func:`memdev.submission.submit.build`), so the leaderboard scores all of them alike.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np

from memdev import atomic
from memdev.bench.results import Model


def anchors(root: Path, slug: str) -> list[Model]:
    """IsolationForest and HistGradientBoosting on the pipeline's features, labels and folds.

    Label competitions get 0/1 from the pipeline's own threshold strategy,
    chosen on out-of-fold scores over the pipeline's CV folds. One OpenMP
    thread: on a shared 2-core machine libgomp's spinning threads would time
    the neighbours, not the model.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
    from threadpoolctl import threadpool_limits

    from memdev import config as config_io
    from memdev.features import preprocess
    from memdev.paths import Paths
    from memdev.submission import submit
    from memdev.training import folds as folds_io

    paths = Paths(slug, root)
    config = config_io.load(paths.config)
    X, y, X_test = preprocess.load_features(paths)
    X, X_test = np.asarray(X), np.asarray(X_test)
    folds = folds_io.load(paths)
    models = [("IsolationForest", IsolationForest(random_state=config.seed), "score_samples", -1)]
    if config.labeled:
        models.append(("HistGradientBoosting", HistGradientBoostingClassifier(random_state=config.seed), "predict_proba", 1))
        models += [(name, model, "predict_proba", 1) for name, model in optional(config.seed)]
    out = []
    with threadpool_limits(limits=1):
        for name, model, method, sign in models:
            tracemalloc.start()
            started = time.perf_counter()
            model.fit(X, y)
            trained = time.perf_counter()
            scores = _score(model, method, sign, X_test)
            predicted = time.perf_counter()
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            note = ""
            if config.submission == "label":
                scores, note = _labels(config, model, method, sign, X, y, folds, scores)
            csv = root / "anchors" / f"{name}.csv"
            atomic.write_text(csv, submit.build(config, paths, scores).to_csv(index=False, lineterminator="\n"))
            out.append(Model(name, csv, trained - started, predicted - trained, peak, note))
            print(f"  {name}: fit {trained - started:.2f}s, predict {predicted - trained:.2f}s {note}", flush=True)
    return out


OPTIONAL = ("LightGBM",)


def optional(seed: int) -> list[tuple[str, object]]:
    """LightGBM (where it is installed) and CatBoost at their defaults, on one thread."""
    import importlib.util

    from catboost import CatBoostClassifier

    out = []
    if importlib.util.find_spec("lightgbm"):
        import lightgbm

        out.append(("LightGBM", lightgbm.LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1)))
    out.append(("CatBoost", CatBoostClassifier(random_seed=seed, thread_count=1, verbose=0, allow_writing_files=False)))
    missing = [name for name in OPTIONAL if name not in dict(out)]
    if missing:
        print(f"  skipped {', '.join(missing)}: not installed (pip install -r requirements-bench.txt)", flush=True)
    return out


def _score(model, method: str, sign: int, X: np.ndarray) -> np.ndarray:
    values = getattr(model, method)(X)
    return sign * (values[:, 1] if values.ndim == 2 else values)  # higher = more anomalous


def _labels(config, model, method, sign, X, y, folds, test_scores) -> tuple[np.ndarray, str]:
    """0/1 by the pipeline's threshold strategy on out-of-fold scores (same folds as the pipeline)."""
    from sklearn.base import clone

    from memdev.evaluation import threshold
    from memdev.training import folds as folds_io

    oof = np.zeros(len(y))
    for fold in range(folds_io.count(folds)):
        held = folds == fold
        oof[held] = _score(clone(model).fit(X[~held], y[~held]), method, sign, X[held])
    cut = threshold.choose(config, oof, y)
    labels = cut.apply(test_scores)
    return labels, f"(labels: {cut.strategy} threshold, {labels.mean():.2%} of test rows)"
