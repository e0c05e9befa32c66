"""The data stage: bring a competition's files into ``data/<slug>/raw/``.

Three sources: a Kaggle-format zip, the kaggle CLI, or the built-in demo
(scikit-learn's bundled handwritten digits, no network needed).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from . import atomic, config as config_io, kaggle_cli, schema
from .errors import MemdevError
from .paths import Paths

REQUIRED = ("train.csv", "test.csv", "sample_submission.csv")
# Refuse archives that would unpack to more than this, or that compress
# better than any real CSV does: both are the marks of a decompression bomb.
MAX_UNPACKED_BYTES = 8 << 30
MAX_RATIO = 200


def fetch(paths: Paths, zip_path: str | None = None) -> None:
    """Fill ``paths.raw`` from a zip, the kaggle CLI or the demo; write the config."""
    if zip_path:
        unpack(Path(zip_path), paths.raw)
    elif all((paths.raw / name).exists() for name in REQUIRED):
        print(f"using the competition files already in {paths.raw}")
    elif paths.slug == "demo":
        write_demo(paths)
    else:
        download(paths)
    missing = [name for name in REQUIRED if not (paths.raw / name).exists()]
    if missing:
        raise MemdevError(f"{paths.raw}: missing {', '.join(missing)} (a Kaggle competition ships all of {', '.join(REQUIRED)})")
    if paths.config.exists():
        print(f"kept your config {paths.config} (delete it to detect the schema again)")
        return
    config = schema.detect(paths)
    config_io.save(config, paths.config)
    print(
        f"{paths.config}: id {config.id_column!r}, target {config.target_column!r}, "
        f"submission {config.submission}, regime {config.regime}, metric {config.metric}"
    )


def unpack(zip_path: Path, target: Path) -> None:
    """Extract a Kaggle zip into ``target``, refusing anything that escapes it."""
    if not zip_path.exists():
        raise MemdevError(f"{zip_path}: no such file")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise MemdevError(f"{zip_path}: not a zip file") from None
    with archive:
        members = archive.infolist()
        total = 0
        for info in members:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or (info.filename[1:2] == ":"):
                raise MemdevError(f"{zip_path}: entry {info.filename!r} points outside the target folder; refused")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise MemdevError(f"{zip_path}: entry {info.filename!r} is a symbolic link; refused")
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
                raise MemdevError(
                    f"{zip_path}: entry {info.filename!r} expands {info.file_size // info.compress_size}x; "
                    f"refused as a likely decompression bomb"
                )
        if total > MAX_UNPACKED_BYTES:
            raise MemdevError(f"{zip_path}: would unpack to {total / 2**30:.1f} GiB; refused (limit {MAX_UNPACKED_BYTES >> 30} GiB)")
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            for info in members:
                if info.is_dir():
                    continue
                out = Path(tmp) / PurePosixPath(info.filename).name
                with archive.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            for path in Path(tmp).iterdir():
                os.replace(path, target / path.name)
    print(f"unpacked {zip_path} into {target}")


def download(paths: Paths) -> None:
    """Download with the official kaggle CLI, then unpack its zip."""
    with tempfile.TemporaryDirectory() as tmp:
        files = kaggle_cli.download(paths.slug, Path(tmp))
        paths.raw.mkdir(parents=True, exist_ok=True)
        for path in files:
            if path.suffix == ".zip":
                unpack(path, paths.raw)
            elif path.suffix == ".csv":
                shutil.move(str(path), paths.raw / path.name)


def write_demo(paths: Paths, anomaly_digit: int = 0, seed: int = 0) -> None:
    """The embedded demo: 8x8 handwritten digits, one digit class is the anomaly.

    Follows the founding tutorials: the held-out digit (about 10% of rows) is
    the anomaly class. Written in Kaggle's format, split 70/30 stratified,
    plus ``solution.csv`` (with the digit, for per-class reports) that only
    ``memdev score`` and reports read.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    features = pd.DataFrame(digits.data.astype(int), columns=[f"pixel{i}" for i in range(64)])
    anomaly = (digits.target == anomaly_digit).astype(int)
    rng = np.random.default_rng(seed)
    features.insert(0, "id", rng.permutation(len(features)) + 1000)
    train_idx, test_idx = train_test_split(
        np.arange(len(features)), test_size=0.3, stratify=anomaly, random_state=seed
    )
    train = features.iloc[train_idx].assign(anomaly=anomaly[train_idx])
    test = features.iloc[test_idx].sort_values("id")
    solution = pd.DataFrame({"id": features["id"], "anomaly": anomaly, "digit": digits.target}).iloc[test_idx]
    solution = solution.sort_values("id")
    solution["Usage"] = np.where(np.random.default_rng(seed).random(len(solution)) < 0.5, "Public", "Private")
    files = {
        paths.train_csv: train,
        paths.test_csv: test,
        paths.sample_csv: pd.DataFrame({"id": test["id"], "anomaly": 0}),
        paths.demo_solution: solution,
    }
    for path, frame in files.items():
        atomic.write_text(path, frame.to_csv(index=False))
    print(f"wrote the demo competition (digit {anomaly_digit} is the anomaly) into {paths.raw}")
