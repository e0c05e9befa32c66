"""The finetune stage: DevNet heads (and the other candidates) on the frozen fold MemAEs.

Reads the features, the folds and each fold's MemAE. For every fold the
candidates (:mod:`memdev.models.candidates`) are fitted on the fold's
training rows and score its held-out rows, so every training row gets an
honest out-of-fold score (the folds' DevNet heads are trained together, as
their MemAEs were). :mod:`memdev.training.decision` picks what to submit
from those scores. Writes each fold's models, ``oof.parquet`` and
``cv.json`` (:class:`~memdev.training.summary.CVSummary`).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from memdev import manifest, progress
from memdev.config import Config
from memdev.features import preprocess
from memdev.models.candidates import (
    FIXED,
    LABEL_FREE,
    SUPERVISED,
    FoldModels,
    boosted,
    fit_fixed,
    fitted_by,
    fixed_scores,
    network_outputs,
    scored_views,
    stack_inputs,
    trusted,
    trusted_rows,
)
from memdev.models.devnet import fit_heads, member_draws
from memdev.models.memae import MemAEDetector, as_stacked
from memdev.models.ranks import BLEND_PARTS, blend, rank_mix
from memdev.models.stacked import StackedMemAE
from memdev.paths import Paths
from memdev.training import decision, labelfree, selection, stamps
from memdev.training import folds as folds_io
from memdev.training.summary import CVSummary, load_oof, save_oof, save_test_fold_scores, save_test_scores

log = logging.getLogger(__name__)

SCORED_ROWS = 100_000  # rows a scikit-learn candidate scores at a time
TRUSTED = "trusted"  # the cache's key of :func:`~memdev.models.candidates.trusted`'s mask


def run(config: Config, paths: Paths, memaes: list[MemAEDetector] | None = None, cache: dict | None = None,
        features: tuple | None = None) -> None:
    """Fit and score every fold's candidates; write what :func:`save` writes.

    ``memaes``: the fold MemAEs just pretrained (else read from disk);
    ``cache``: fold models already fitted or queued, as :func:`cross_validate` takes it;
    ``features``: what :func:`~memdev.features.preprocess.load_features` returned, if called already.
    """
    stamps.check(config, paths, "finetune")
    X, y, X_test = features or preprocess.load_features(paths)
    folds = folds_io.load(paths)
    count = folds_io.count(folds)
    if memaes is None:
        manifest.verify(paths, [paths.memae(k) for k in range(count)])
        memaes = [MemAEDetector.load(paths.memae(k), config.memae, config.seed + k) for k in range(count)]

    with progress.stage("finetune", count) as bar:
        result = cross_validate(config, X, y, folds, memaes,
                                lambda fold, held_out, oof: bar.advance(1, f"{len(held_out)} held-out rows scored"),
                                cache=cache)
    # the label-free rule's feature statistics (a PCA of up to 20,000 rows): only where it will choose
    stats = None if folds_io.supervised(config, y) else labelfree.statistics(X, config.seed)
    summary, scores = decision.summarise(config, y, folds, result.oof, stats)
    save(config, paths, folds, y, result, summary, scores, X_test)
    log.info(decision.describe(config, summary))


def save(config: Config, paths: Paths, folds: np.ndarray, y: np.ndarray, result: CVResult, summary: CVSummary,
         scores: np.ndarray, X_test: np.ndarray) -> None:
    """Write each fold's models, ``oof.parquet``, every candidate's test scores and ``cv.json`` (stamped
    with what they were built from), so ``make submit`` needs no model of its own.

    ``make train`` writes them; so does ``make tune`` for its best trial.
    """
    label = config.submission == "label"
    means, per_fold = test_scores(config, result.folds, X_test, candidates(config, y), result.oof if label else None)
    save_test_scores(paths, means)
    if label:
        save_test_fold_scores(paths, per_fold)
    summary.stamp = {**stamps.of(config, paths), "fixed": stamps.fixed_of(config, paths)}
    oof = dict(result.oof)
    if summary.model == selection.ENSEMBLE:
        oof[selection.ENSEMBLE] = scores
    manifest.record(paths, [path for fold, models in enumerate(result.folds) for path in models.save(paths, fold)])
    save_oof(paths, folds, y, oof)
    summary.save(paths)


@dataclass
class CVResult:
    oof: dict[str, np.ndarray]
    folds: list[FoldModels] = field(default_factory=list)


def candidates(config: Config, y: np.ndarray) -> list[str]:
    """The candidates every fold fits: the label-free ones only, unless a supervised model can be cross-validated."""
    if not folds_io.supervised(config, y):
        return list(LABEL_FREE)
    names = ["memae", "devnet"]
    if config.stacking != "off":
        names += ["gbm", "catboost", "stack", "blend"]
    return names + ["iforest", "lof"]


def cross_validate(config: Config, X, y, folds: np.ndarray, memaes: list[MemAEDetector], on_fold=None,
                   stacked: StackedMemAE | None = None, cache: dict | None = None) -> CVResult:
    """Out-of-fold scores of every candidate, on each fold's MemAE (``memaes``, in fold order).

    The folds' DevNet heads are trained together first; then the scikit-learn
    candidates of every fold are queued on ``threads.folds`` threads and, fold
    by fold, as soon as the fold's own are fitted, every candidate scores its
    held-out rows and ``on_fold(fold, held_out, oof)`` is called (tuning
    reports there and may prune the trial; the fits not started are dropped).

    ``stacked``: the MemAEs as :class:`StackedMemAE`, if at hand. ``cache``:
    a dict kept across calls on the same X, y, folds and seed (tuning's
    trials): ``gbm``, ``catboost``, ``iforest`` and ``lof`` depend on none of the tuned
    parameters, so their fold models and scores (or the futures of the fits
    :func:`queue_fixed` queued) are computed once into it and reused, as are
    the DevNet heads' balanced batches and the rows the supervised candidates
    may fit on (:func:`trusted_mask`).
    """
    names = candidates(config, y)
    fitted = fitted_by(names)
    count = folds_io.count(folds)
    train = [np.flatnonzero(folds != fold) for fold in range(count)]
    held_out = [np.flatnonzero(folds == fold) for fold in range(count)]
    stacked = stacked or as_stacked(memaes)
    cache = {} if cache is None else cache
    kept = trusted_mask(config, X, y, cache) if set(SUPERVISED) & set(fitted) else None
    fitting = [trusted_rows(rows, kept) for rows in train]  # the supervised candidates' training rows
    oof = {name: np.zeros(len(y)) for name in fitted}
    # the stack's MemAE inputs: every fold's in one pass
    views = stacked.features(X, fitting, ("latent", "error")) if "stack" in fitted else [None] * count
    result = CVResult(oof)
    openmp = config.threads.boosting or None
    with threadpool_limits(openmp, user_api="openmp"), \
            ThreadPoolExecutor(workers(config, count)) as pool:
        # every fold's scikit-learn fits (with their held-out scores) are queued at once, fold by fold,
        # before the heads train: they run beside TensorFlow's small steps, which keep one core busy
        fits = {}
        for fold in range(count):
            fits.update(queue_fixed(pool, config, X, y, folds,
                                    [(name, fold) for name in fitted if name in FIXED and (name, fold) not in cache],
                                    kept))
            if "stack" in fitted:
                fits["stack", fold] = pool.submit(limited, openmp, fit_stack, config.seed, X, y, fitting[fold],
                                                  views[fold])
        del views  # the queued fits hold each fold's own
        try:
            heads = [None] * count
            if "devnet" in fitted:
                labels = [y[rows] for rows in fitting]
                # no tuned parameter changes the heads' balanced batches either
                drawn = ("draws", config.head.batch_size, config.head.steps_per_epoch, config.head.epochs)
                if drawn not in cache:
                    cache[drawn] = member_draws(labels, config.head, config.seed)
                heads, _ = fit_heads(memaes, X, fitting, labels, config.head, config.seed, stacked, cache[drawn])
            networks = [n for n in fitted if n not in FIXED]
            outputs = network_outputs(stacked, heads if "devnet" in fitted else None, X, held_out,
                                      scored_views(networks), config.head.inputs)
            for fold, rows in enumerate(held_out):
                models = FoldModels(memaes[fold], heads[fold])
                for name in [n for n in fitted if n in FIXED]:
                    done = cache[name, fold] if (name, fold) in cache else fits.pop((name, fold))
                    cache[name, fold] = done.result() if isinstance(done, Future) else done
                    model, oof[name][rows] = cache[name, fold]
                    setattr(models, name, model)
                if "stack" in fitted:
                    models.stack = fits.pop(("stack", fold)).result()
                for name, scores in models.score(X, networks, rows, outputs=outputs[fold]).items():
                    oof[name][rows] = scores
                result.folds.append(models)
                if on_fold:
                    on_fold(fold, rows, oof)
        finally:  # a pruned trial leaves the fits nobody will wait for
            for job in fits.values():
                job.cancel()
    if "blend" in names:
        oof["blend"] = blend(*(oof[name] for name in BLEND_PARTS))
    return result


def test_scores(config: Config, fold_models: list[FoldModels], X_test: np.ndarray, names: list[str],
                oof: dict[str, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each candidate's scores of the test rows: the mean of its fold models' (``blend``: of the means); and,
    given the out-of-fold scores ``oof``, each fold model's own, one row per fold (``blend``: its parts'
    ranks against their out-of-fold scores, the scale of the blend's out-of-fold scores).

    The scikit-learn candidates score on ``threads.folds`` threads while the MemAE's and the heads' run.
    """
    fitted = fitted_by(names)
    fixed = [name for name in fitted if name in FIXED]
    networks = [name for name in fitted if name not in FIXED]
    openmp = config.threads.boosting or None
    totals: dict[str, np.ndarray] = {}
    per_fold: dict[str, list[np.ndarray]] = {}
    with threadpool_limits(openmp, user_api="openmp"), ThreadPoolExecutor(workers(config, len(fold_models))) as pool, \
            progress.stage("test", len(fold_models)) as bar:
        jobs = [{name: pool.submit(limited, openmp, fixed_scores, name, getattr(models, name), X_test)
                 for name in fixed} for models in fold_models]
        heads = [models.devnet for models in fold_models] if "devnet" in networks else None
        outputs = network_outputs(as_stacked([models.memae for models in fold_models]), heads, X_test,
                                  [np.arange(len(X_test))] * len(fold_models), scored_views(networks),
                                  config.head.inputs)
        for models, fold_jobs, output in zip(fold_models, jobs, outputs):
            scores = models.score(X_test, networks, outputs=output)
            scores.update({name: job.result() for name, job in fold_jobs.items()})
            for name, values in scores.items():
                totals[name] = totals.get(name, 0) + values / len(fold_models)
                if oof is not None:
                    per_fold.setdefault(name, []).append(values.astype(np.float32))
            bar.advance(1, f"{len(X_test)} test rows scored")
    if "blend" in names:
        totals["blend"] = blend(*(totals[name] for name in BLEND_PARTS))
        if oof is not None:
            equal = dict.fromkeys(BLEND_PARTS, 1 / len(BLEND_PARTS))
            per_fold["blend"] = [rank_mix({name: per_fold[name][k] for name in BLEND_PARTS}, equal, oof)
                                 for k in range(len(fold_models))]
    return totals, {name: np.array(values) for name, values in per_fold.items()}


def reusable(config: Config, paths: Paths, folds: np.ndarray) -> dict:
    """The fold models on disk of the candidates no MemAE changes (:data:`FIXED`) and their out-of-fold scores,
    as :func:`cross_validate`'s cache; {} unless they were built from what they would be built from now
    (:func:`~memdev.training.stamps.fixed_of`) on these ``folds``.

    So a run after an edit of the MemAE, the head, the threshold or the metric
    refits only what those change.
    """
    if not paths.cv.exists() or CVSummary.load(paths).stamp.get("fixed") != stamps.fixed_of(config, paths) \
            or not paths.folds.exists() or not np.array_equal(folds_io.load(paths), folds):
        return {}
    oof = load_oof(paths)
    return {(name, fold): (manifest.load_pickle(paths, paths.boosted(name, fold)), oof[name].to_numpy()[folds == fold])
            for fold in range(folds_io.count(folds)) for name in FIXED if name in oof.columns}


def queue_fixed(pool: ThreadPoolExecutor, config: Config, X, y: np.ndarray, folds: np.ndarray,
                wanted: list[tuple[str, int]], kept: np.ndarray | None) -> dict[tuple[str, int], Future]:
    """The fits (and held-out scores) of the :data:`FIXED` candidates ``wanted`` as (name, fold), queued on ``pool``;
    ``kept``: the rows the :data:`SUPERVISED` ones (gbm) may fit on (:func:`trusted_mask`)."""
    openmp = config.threads.boosting or None
    jobs = {}
    for name, fold in wanted:
        rows = np.flatnonzero(folds != fold)
        rows = trusted_rows(rows, kept) if name in SUPERVISED else rows
        jobs[name, fold] = pool.submit(limited, openmp, fit_and_score, name, config.seed, X, y, rows,
                                       np.flatnonzero(folds == fold), config.threads.boosting)
    return jobs


def trusted_mask(config: Config, X, y: np.ndarray, cache: dict) -> np.ndarray | None:
    """:func:`~memdev.models.candidates.trusted`'s mask, computed once into ``cache``."""
    if TRUSTED not in cache:
        cache[TRUSTED] = trusted(config, X, y)
    return cache[TRUSTED]


def fit_and_score(name: str, seed: int, X, y: np.ndarray, rows: np.ndarray, held_out: np.ndarray,
                  threads: int = 1):
    """A :data:`FIXED` candidate fitted on ``X[rows]``, and its scores of ``X[held_out]``."""
    model = fit_fixed(name, seed, X, y, rows, threads)
    # a chunk at a time: the pool's jobs would otherwise each copy a fold's held-out rows at once
    parts = np.array_split(held_out, max(1, -(-len(held_out) // SCORED_ROWS)))
    return model, np.concatenate([fixed_scores(name, model, X[part]) for part in parts])


def fit_stack(seed: int, X, y: np.ndarray, rows: np.ndarray, views: dict[str, np.ndarray]):
    inputs = stack_inputs(X[rows], views)
    return boosted(seed, inputs.shape[1]).fit(inputs, y[rows])


def limited(threads: int | None, fit, *args):
    """``fit(*args)`` on at most ``threads`` OpenMP threads: a thread's OpenMP limit is its own, not its pool's."""
    with threadpool_limits(threads, user_api="openmp"):
        return fit(*args)


def workers(config: Config, folds: int) -> int:
    """Threads for the folds' scikit-learn work: ``threads.folds`` (0: one per core), at most one per fold."""
    return min(config.threads.folds or cores(), folds)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
