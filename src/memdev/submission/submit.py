"""The submit stage: the chosen model's test scores (stored by finetune), validated, written, recorded.

The CSV goes to ``submissions/<slug>/<UTC time>_<metric>-<cv>.csv`` and a row
to ``submissions/ledger.csv``; ``memdev submit`` prints the path as its last line.
"""

from __future__ import annotations

import logging
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from memdev import atomic, manifest
from memdev import config as config_io
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.evaluation.threshold import LABELED_CUTS
from memdev.features import preprocess
from memdev.ingest import kaggle_cli, schema
from memdev.ingest.tables import read_table
from memdev.models.ranks import rank_mix
from memdev.paths import Paths
from memdev.submission import ledger
from memdev.training import stamps
from memdev.training.summary import CVSummary, load_oof, load_test_fold_scores, load_test_scores

log = logging.getLogger(__name__)


def test_scores(paths: Paths, cv: CVSummary, oof: pd.DataFrame | None = None) -> np.ndarray:
    """The chosen candidate's test scores (each candidate's: the mean of its fold models', stored by finetune).

    An ``ensemble`` mixes its candidates' ranks with the weights chosen out of
    fold, each test score ranked among that candidate's out-of-fold scores
    (``oof``, read here unless given).
    """
    manifest.verify(paths, [paths.x_test])  # the scores are of these features, as recorded
    test = load_test_scores(paths)
    if cv.model == "ensemble":
        oof = load_oof(paths) if oof is None else oof
        return rank_mix({name: test[name].to_numpy(dtype=float) for name in cv.weights}, cv.weights,
                        {name: oof[name].to_numpy(dtype=float) for name in cv.weights})
    return test[cv.model].to_numpy(dtype=float)


def test_labels(paths: Paths, cv: CVSummary) -> np.ndarray:
    """The chosen candidate's 0/1 labels of the test rows: its cut applied to their scores (the fold models'
    mean) with each fold model's own scores beside them
    (:meth:`~memdev.evaluation.threshold.Threshold.apply_folds`) where training stored them.

    An ``ensemble``'s out-of-fold scores mix ranks within each fold, so fold k's test scores are ranked
    among fold k's out-of-fold ones.
    """
    oof = load_oof(paths) if cv.model == "ensemble" else None
    scores = test_scores(paths, cv, oof)
    per_fold = load_test_fold_scores(paths) if cv.threshold.uses_folds else None
    if per_fold is None:
        return cv.threshold.apply(scores)
    if cv.model != "ensemble":
        return cv.threshold.apply_folds(scores, per_fold[cv.model])
    held = [oof["fold"].to_numpy() == k for k in range(len(per_fold[next(iter(cv.weights))]))]
    return cv.threshold.apply_folds(scores, np.array([
        rank_mix({name: per_fold[name][k] for name in cv.weights}, cv.weights,
                 {name: oof[name].to_numpy(dtype=float)[rows] for name in cv.weights})
        for k, rows in enumerate(held)]))


def build(config: Config, paths: Paths, values: np.ndarray) -> pd.DataFrame:
    """The submission frame in the sample's column and row order.

    ``values`` are in test.csv's row order: 0/1 labels for a ``label``
    competition (written as the target's own levels where a ``label_map``
    names them), scores (higher = more anomalous) for a ``score`` one.
    """
    sample = read_table(paths.sample_file, config.id_column)
    ids = preprocess.load_test_ids(paths, config)
    target = sample.columns[1]
    by_id = pd.Series(np.asarray(values).astype(int if config.submission == "label" else float), index=ids.to_numpy())
    words = schema.label_words(config.label_map, sample[target]) if config.submission == "label" else None
    if words:
        by_id = by_id.map(words)
    frame = pd.DataFrame({config.id_column: sample[config.id_column], target: by_id.loc[sample[config.id_column]].to_numpy()})
    validate(frame, sample, config)
    return frame


def validate(frame: pd.DataFrame, sample: pd.DataFrame, config: Config) -> None:
    """Kaggle's format rules: same columns, every id once, finite values, 0/1 (or the target's levels) for labels."""
    if list(frame.columns) != list(sample.columns[:2]):
        raise MemdevError(f"submission columns {list(frame.columns)} differ from the sample's {list(sample.columns[:2])}")
    ids = frame.iloc[:, 0]
    if ids.duplicated().any() or set(ids) != set(sample.iloc[:, 0]) or len(ids) != len(sample):
        raise MemdevError("submission ids are not exactly the sample's ids, each once")
    values = frame.iloc[:, 1]
    words = schema.label_words(config.label_map, sample.iloc[:, 1]) if config.submission == "label" else None
    if words:
        if not values.isin(list(words.values())).all():
            raise MemdevError(f"a label submission must hold only {sorted(map(str, words.values()))}")
        return
    numbers = pd.to_numeric(values, errors="coerce")
    text = values[numbers.isna() & values.notna()]
    if len(text):
        raise MemdevError(f"submission value {text.iloc[0]!r} (id {ids[text.index[0]]!r}) is not a number")
    if not np.isfinite(numbers.to_numpy(dtype=float)).all():
        raise MemdevError("submission has NaN or infinite values")
    if config.submission == "label" and not values.isin([0, 1]).all():
        raise MemdevError("a label submission must hold only 0 and 1")


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def tuned_trial(paths: Paths) -> str:
    """Which study and trial the parameters came from ('' for the defaults)."""
    best = config_io.load_tuned(paths.best_params)
    return f"{best['study']}#{best['trial']}" if best else ""


def run(config: Config, paths: Paths, message: str = "") -> tuple[Path, str]:
    """Write the submission CSV and its ledger row; return the CSV's path and the upload message."""
    stamps.check(config, paths, "submit")
    cv = CVSummary.load(paths)
    labels = test_labels(paths, cv) if config.submission == "label" else None
    frame = build(config, paths, test_scores(paths, cv) if labels is None else labels)
    now = datetime.now(timezone.utc)
    # two submissions in one second (or two processes) get a name each: `_2`, `_3`... after the second one
    path = atomic.write_new(paths.submissions / f"{now:%Y%m%dT%H%M%SZ}_{cv.tag}.csv",
                            frame.to_csv(index=False, lineterminator="\n").encode())
    trial = tuned_trial(paths)
    sha = atomic.sha256(path)
    twin = twins(paths, path, sha)
    message = message or f"memdev {cv.model} CV {cv.tag}" + (f" trial {trial}" if trial else "") + f" commit {git_commit() or 'none'}"
    ledger.append(paths.ledger, {
        "time": now.isoformat(timespec="seconds"), "competition": paths.slug, "file": str(path),
        "sha256": sha, "config_hash": config.digest(), "model": cv.model,
        "cv_metric": cv.metric, "cv_value": "" if cv.value is None else f"{cv.value:.6f}",
        "trial": trial, "git_commit": git_commit(), "message": message, "uploaded": "no",
    })
    counts = frame.iloc[:, 1].value_counts().to_dict() if config.submission == "label" else None
    log.info(f"submission: {len(frame)} rows, model {cv.model}, CV {cv.tag}" + (f", labels {counts}" if counts else ""))
    cut = cv.threshold
    if labels is not None and cut.strategy in LABELED_CUTS and labels.sum() != cut.count(len(labels)):
        log.info(f"submission: the fold models reach the {cut.strategy} cut on {labels.mean():.2%} of the test rows, "
                 f"clearly not the {cut.rate:.2%} it called out of fold: the test rows hold another share of anomalies, "
                 "and that share is called")
    if config.clash:
        log.warning(f"submission: {config.clash}")
    if twin is not None:
        log.info(f"submission: the same bytes as {twin['file']} of {twin['time']}"
                 + (f" (public {twin['public_score']})" if twin["public_score"] else ""))
    return path, message


def twins(paths: Paths, path: Path, sha: str) -> pd.Series | None:
    """The latest earlier ledger row of this competition whose file has the bytes of ``path`` (sha256 ``sha``),
    if any; an uploaded one first."""
    frame = ledger.read(paths.ledger)
    same = frame[(frame["competition"] == paths.slug) & (frame["sha256"] == sha)
                 & (frame["file"] != str(path))]
    if same.empty:
        return None
    return same.iloc[-1] if not (same["uploaded"] == "yes").any() else same[same["uploaded"] == "yes"].iloc[-1]


def upload(paths: Paths, path: Path, message: str) -> None:
    """Upload a written submission; its ledger row says whether that worked.

    The CSV and its row are already safe: a failed upload loses nothing. Bytes uploaded before are not
    uploaded again: Kaggle would count a daily submission for the score it already gave.
    """
    twin = twins(paths, path, atomic.sha256(path))
    if twin is not None and twin["uploaded"] == "yes":
        log.warning(f"not uploaded: {twin['file']} had the same bytes and was uploaded; a second upload spends a "
                    "daily submission on the same score (upload by hand if you mean to)")
        return
    try:
        kaggle_cli.submit(paths.slug, path, message)
    except MemdevError:
        ledger.set_fields(paths.ledger, paths.slug, str(path), uploaded="failed")
        raise
    ledger.set_fields(paths.ledger, paths.slug, str(path), uploaded="yes")
    log.info(f"uploaded with message {message!r}; `make lb COMP={paths.slug}` fetches the public score")
