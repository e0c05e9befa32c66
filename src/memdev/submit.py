"""The submit stage: score test.csv with the fold models, validate, write, record.

The CSV goes to ``submissions/<slug>/<UTC time>_<metric>-<cv>.csv`` and a row
to ``submissions/ledger.csv``; the path is the last line printed.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import yaml

from . import atomic, finetune, kaggle_cli, ledger, manifest, preprocess, threshold
from .config import Config
from .errors import MemdevError
from .finetune import FoldModels
from .memae import MemAEDetector
from .paths import Paths
from .tables import read_csv

def test_scores(config: Config, paths: Paths, cv: dict) -> np.ndarray:
    """The chosen candidate's test scores, averaged over the fold models."""
    X_test = np.asarray(preprocess.load_features(paths)[2])
    chosen = cv["model"]
    names = ["devnet", "stack"] if chosen == "blend" else [chosen]
    fold_count = int(np.load(paths.folds).max()) + 1
    totals: dict[str, np.ndarray] = {}
    for fold in range(fold_count):
        models = FoldModels(MemAEDetector.load(paths.memae(fold), config.memae))
        if "devnet" in names:
            models.devnet = keras.models.load_model(paths.head(fold), compile=False, safe_mode=True)
        for name in {"gbm", "stack"} & set(names):
            setattr(models, name, manifest.load_pickle(paths, paths.boosted(name, fold)))
        for name, scores in models.score(X_test, names).items():
            if name in names:
                totals[name] = totals.get(name, 0) + scores / fold_count
    if chosen == "blend":
        return finetune.blend(totals["devnet"], totals["stack"])
    return totals[chosen]


def check_stamp(config: Config, paths: Paths, cv: dict) -> None:
    current = finetune.stamp(config, paths)
    for key, value in cv.get("stamp", {}).items():
        if current.get(key) != value:
            raise MemdevError(
                f"{paths.cv}: the models were built from a different {key.replace('_', ' ')} than the one now in "
                f"{paths.comp}; run `make train COMP={paths.slug}` before submitting"
            )


def build(config: Config, paths: Paths, scores: np.ndarray, cv: dict) -> pd.DataFrame:
    """The submission frame in the sample's column and row order."""
    sample = read_csv(paths.sample_csv, config.id_column)
    ids = pd.read_parquet(paths.test_ids)[config.id_column].astype(str)
    target = sample.columns[1]
    if config.submission == "label":
        values = threshold.Threshold(**cv["threshold"]).apply(scores).astype(int)
    else:
        values = scores.astype(float)
    by_id = pd.Series(values, index=ids.to_numpy())
    frame = pd.DataFrame({config.id_column: sample[config.id_column], target: by_id.loc[sample[config.id_column]].to_numpy()})
    validate(frame, sample, config)
    return frame


def validate(frame: pd.DataFrame, sample: pd.DataFrame, config: Config) -> None:
    """Kaggle's format rules: same columns, every id once, finite values, 0/1 for labels."""
    if list(frame.columns) != list(sample.columns[:2]):
        raise MemdevError(f"submission columns {list(frame.columns)} differ from the sample's {list(sample.columns[:2])}")
    ids = frame.iloc[:, 0]
    if ids.duplicated().any() or set(ids) != set(sample.iloc[:, 0]) or len(ids) != len(sample):
        raise MemdevError("submission ids are not exactly the sample's ids, each once")
    values = frame.iloc[:, 1]
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
    if not paths.best_params.exists():
        return ""
    best = yaml.safe_load(paths.best_params.read_text(encoding="utf-8")) or {}
    return f"{best.get('study', '')}#{best.get('trial', '')}"


def run(config: Config, paths: Paths, message: str = "", upload: bool = False) -> Path:
    if not paths.cv.exists():
        raise MemdevError(f"{paths.cv}: no trained models; run `make train COMP={paths.slug}` first")
    cv = json.loads(paths.cv.read_text(encoding="utf-8"))
    check_stamp(config, paths, cv)
    frame = build(config, paths, test_scores(config, paths, cv), cv)
    now = datetime.now(timezone.utc)
    value = cv["value"]
    tag = f"{cv['metric']}-{value:.4f}" if value is not None else "nocv"
    path = paths.submissions / f"{now:%Y%m%dT%H%M%SZ}_{tag}.csv"
    if path.exists():  # two submissions in one second must not overwrite each other
        path = path.with_name(f"{path.stem}_{now:%f}.csv")
    atomic.write_text(path, frame.to_csv(index=False, lineterminator="\n"))
    trial = tuned_trial(paths)
    message = message or f"memdev {cv['model']} CV {tag}" + (f" trial {trial}" if trial else "") + f" commit {git_commit() or 'none'}"
    ledger.append(paths.ledger, {
        "time": now.isoformat(timespec="seconds"), "competition": paths.slug, "file": str(path),
        "sha256": atomic.sha256(path), "config_hash": config.digest(), "model": cv["model"],
        "cv_metric": cv["metric"], "cv_value": "" if value is None else f"{value:.6f}",
        "trial": trial, "git_commit": git_commit(), "message": message, "uploaded": "no",
    })
    counts = frame.iloc[:, 1].value_counts().to_dict() if config.submission == "label" else None
    print(f"submission: {len(frame)} rows, model {cv['model']}, CV {tag}" + (f", labels {counts}" if counts else ""))
    if upload:
        # the CSV and its ledger row are already safe: an upload failure loses nothing
        try:
            kaggle_cli.submit(paths.slug, path, message)
        except MemdevError:
            ledger.set_fields(paths.ledger, str(path), uploaded="failed")
            print(path)
            raise
        ledger.set_fields(paths.ledger, str(path), uploaded="yes")
        print(f"uploaded with message {message!r}; `make lb COMP={paths.slug}` fetches the public score")
    print(path)
    return path
