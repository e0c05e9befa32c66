"""Variants of a practice competition, written as competitions of their own (``<slug>.zip`` and ``.json``).

The weak versions (:mod:`memdev.bench.weak`) and the halves
(:mod:`memdev.bench.halves`) both read a competition's files, change some,
and write them under the same slug into another folder, which ``make data``
then unpacks as it would the original.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd


def fully_labeled(source: Path) -> list[str]:
    """The practice competitions in ``source`` whose every training row is labeled (regime ``full``): the ones
    with weak versions and halves."""
    return sorted(path.stem for path in source.glob("*.json")
                  if json.loads(path.read_text(encoding="utf-8"))["regime"] == "full")


def unpack(slug: str, source: Path) -> tuple[dict[str, bytes], dict]:
    """``source/<slug>.zip``'s files by name, and its evaluation page ``<slug>.json``."""
    with zipfile.ZipFile(source / f"{slug}.zip") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return files, json.loads((source / f"{slug}.json").read_text(encoding="utf-8"))


def pack(slug: str, into: Path, files: dict[str, bytes], page: dict) -> None:
    """Write ``into/<slug>.zip`` and ``into/<slug>.json``."""
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(into / f"{slug}.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    (into / f"{slug}.json").write_text(json.dumps(page), encoding="utf-8")


def frame(files: dict[str, bytes], name: str, nrows: int | None = None) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files[name]), nrows=nrows)
