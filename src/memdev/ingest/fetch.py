"""The data stage: bring a competition's files into ``data/<slug>/raw/``.

Three sources: a Kaggle-format zip, the kaggle CLI, or the built-in demo
(scikit-learn's bundled handwritten digits, no network needed). Each of the
three tables may come as CSV (perhaps gzipped) or Parquet.
"""

from __future__ import annotations

import difflib
import filecmp
import gzip
import logging
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from memdev import atomic
from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.ingest import kaggle_cli, schema
from memdev.ingest.tables import header
from memdev.paths import TABLES, Paths

log = logging.getLogger(__name__)

FORMATS = (".csv", ".parquet")
SHIPS = "a Kaggle competition ships all of train, test and sample_submission, each as .csv or .parquet"
# Refuse archives that would unpack to more than this, or that compress
# better than any real CSV does: both are the marks of a decompression bomb.
MAX_UNPACKED_BYTES = 8 << 30
MAX_RATIO = 200


def fetch(paths: Paths, zip_path: str | None = None) -> None:
    """Fill ``paths.raw`` from a zip, the kaggle CLI or the demo; write the config."""
    if zip_path:
        unpack(Path(zip_path), paths.raw, TABLES)
    elif all(paths.table(name).exists() for name in TABLES):
        log.info(f"using the competition files already in {paths.raw}")
    elif paths.slug == "demo":
        write_demo(paths)
    else:
        download(paths)
    missing = [paths.table(name).name for name in TABLES if not paths.table(name).exists()]
    if missing:
        raise MemdevError(f"{paths.raw}: missing {', '.join(missing)} ({SHIPS})")
    if paths.config.exists():
        log.info(f"kept your config {paths.config} (delete it to detect the schema again)")
        return
    config = schema.detect(paths)
    if paths.slug == "demo" and "digit" in header(paths.train_file):
        config.group_column = "digit"  # the per-class report of the founding study; never a feature
    config_io.save(config, paths.config)
    why = "the rarer level is the anomaly" if len(config.label_map or {}) > 1 else "the empty cells are unlabeled rows"
    words = f", label_map {config.label_map} ({why})" if config.label_map else ""
    log.info(
        f"{paths.config}: id {config.id_column!r}, target {config.target_column!r}{words}, "
        f"submission {config.submission}, regime {config.regime}, metric {config.metric}"
    )


def unpack(zip_path: Path, target: Path, required: tuple[str, ...] = ()) -> None:
    """Extract a Kaggle zip into ``target``, refusing anything that escapes it.

    Entries ending in ``.gz`` (how Kaggle ships large tables) are decompressed
    on the way. Sizes are checked twice: as the archive declares them before
    anything is written, then as the bytes actually come out, since a hostile
    archive can declare anything. The tables named in ``required`` must be
    there, each as ``.csv`` or ``.parquet``.
    """
    if not zip_path.exists():
        raise MemdevError(f"{zip_path}: no such file")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise MemdevError(f"{zip_path}: not a zip file") from None
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        for info in members:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts or (info.filename[1:2] == ":"):
                raise MemdevError(f"{zip_path}: entry {info.filename!r} points outside the target folder; refused")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise MemdevError(f"{zip_path}: entry {info.filename!r} is a symbolic link; refused")
            _check_size(zip_path, info.filename, info.file_size, info.compress_size)
        names = {PurePosixPath(info.filename).name.removesuffix(".gz") for info in members}
        missing = [f"{name}.csv" for name in required if not any(f"{name}{ext}" in names for ext in FORMATS)]
        if missing:
            raise MemdevError(f"{zip_path}: missing {', '.join(missing)} ({SHIPS})")
        total = sum(info.file_size for info in members)
        if total > MAX_UNPACKED_BYTES:
            raise MemdevError(f"{zip_path}: would unpack to {total / 2**30:.1f} GiB; refused (limit {MAX_UNPACKED_BYTES >> 30} GiB)")
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            for info in members:
                name = PurePosixPath(info.filename).name
                try:
                    with archive.open(info) as src:
                        if name.endswith(".gz"):
                            with gzip.open(src) as inner:
                                _extract(inner, Path(tmp) / name[:-3], zip_path, info)
                        else:
                            _extract(src, Path(tmp) / name, zip_path, info)
                except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, zlib.error) as exc:
                    raise MemdevError(f"{zip_path}: entry {info.filename!r} is truncated or corrupt ({exc}); "
                                      f"download it again") from None
            same = []
            for path in Path(tmp).iterdir():
                if (target / path.name).is_file() and filecmp.cmp(path, target / path.name, shallow=False):
                    same.append(path.name)  # left as it was, its time too: make retrains nothing for it
                else:
                    os.replace(path, target / path.name)
    log.info(f"unpacked {zip_path} into {target}" + (f" ({', '.join(sorted(same))} unchanged)" if same else ""))


def _check_size(zip_path: Path, entry: str, size: int, compressed: int) -> None:
    if compressed and size / compressed > MAX_RATIO and size > 1 << 20:
        raise MemdevError(
            f"{zip_path}: entry {entry!r} expands {size // compressed}x; refused as a likely decompression bomb"
        )
    if size > MAX_UNPACKED_BYTES:
        raise MemdevError(f"{zip_path}: entry {entry!r} unpacks to over {MAX_UNPACKED_BYTES >> 30} GiB; refused")


def _extract(src, out: Path, zip_path: Path, info: zipfile.ZipInfo) -> None:
    """Copy ``src`` to ``out``, re-checking the size limits as the bytes come."""
    written = 0
    with open(out, "wb") as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            written += len(block)
            _check_size(zip_path, info.filename, written, info.compress_size)
            dst.write(block)


def download(paths: Paths) -> None:
    """Download with the official kaggle CLI, then unpack its zip."""
    if not kaggle_cli.installed():
        raise MemdevError(not_downloadable(paths))
    with tempfile.TemporaryDirectory() as tmp:
        files = kaggle_cli.download(paths.slug, Path(tmp))
        paths.raw.mkdir(parents=True, exist_ok=True)
        for path in files:
            if path.suffix == ".zip":
                unpack(path, paths.raw, TABLES)
            elif path.suffix in FORMATS:
                shutil.move(str(path), paths.raw / path.name)


def not_downloadable(paths: Paths) -> str:
    """What to do about raw files that are not all there, without the kaggle CLI that would download them.

    ``make train`` lands here too, for a mistyped slug or a deleted raw file:
    name the missing files, or for a slug with none the competitions that are
    here and the closest to it, and then the two ways to bring the files in.
    """
    ways = (f"`make data COMP={paths.slug} ZIP=path.zip` (the competition's zip), "
            "or `.venv/bin/pip install kaggle` to download it with the kaggle CLI")
    there = [paths.table(name).name for name in TABLES if paths.table(name).exists()]
    if there:
        missing = " and ".join(paths.table(name).name for name in TABLES if not paths.table(name).exists())
        return (f"{paths.raw} has no {missing} (it has {' and '.join(there)}), and the kaggle CLI that would "
                f"download the competition again is not installed: put {missing} back, or run {ways}")
    others = competitions(paths)
    data = paths.comp.parent
    here = f"the competitions in {data}: {', '.join(others)}" if others else f"no competition in {data} yet"
    close = difflib.get_close_matches(paths.slug, [*others, "demo"], n=1)
    guess = f"; did you mean COMP={close[0]}?" if close else ""
    return (f"{paths.comp} has no raw files, and the kaggle CLI that would download {paths.slug} is not installed "
            f"({here}{guess}); to bring {paths.slug} in, run {ways}")


def competitions(paths: Paths) -> list[str]:
    """The other competitions in the project's ``data/``: the folders with raw files or a config."""
    data = paths.comp.parent
    if not data.is_dir():
        return []
    return sorted(folder.name for folder in data.iterdir()
                  if folder.name != paths.slug and ((folder / "raw").is_dir() or (folder / "config.yaml").exists()))


def write_demo(paths: Paths, anomaly_digit: int = 0, seed: int = 0) -> None:
    """The embedded demo: 8x8 handwritten digits, one digit class is the anomaly.

    Follows the founding tutorials: the held-out digit (about 10% of rows) is
    the anomaly class. Written in Kaggle's format, split 70/30 stratified,
    plus ``solution.csv`` that only ``memdev score`` reads. train.csv also
    carries each row's ``digit``: the config's ``group_column`` for the
    per-class report, which preprocessing keeps out of the features (it
    gives the label away).
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
    train = features.iloc[train_idx].assign(digit=digits.target[train_idx], anomaly=anomaly[train_idx])
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
    log.info(f"wrote the demo competition (digit {anomaly_digit} is the anomaly) into {paths.raw}")
