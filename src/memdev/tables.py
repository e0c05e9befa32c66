"""Reading competition CSVs, with one clear error per kind of bad file."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from .errors import MemdevError

# Above this size pandas' pyarrow engine reads much faster than the C engine.
PYARROW_FROM_BYTES = 64 << 20


def read_csv(path: Path, id_column: str | None = None) -> pd.DataFrame:
    """Read a Kaggle CSV; the id column, when named, is kept as exact text."""
    path = Path(path)
    if not path.exists():
        raise MemdevError(f"{path}: file is missing")
    if path.stat().st_size == 0:
        raise MemdevError(f"{path}: file is empty")
    sep = _delimiter(path)
    dtype = {id_column: str} if id_column else None
    engine = "pyarrow" if path.stat().st_size > PYARROW_FROM_BYTES and sep == "," else "c"
    try:
        frame = pd.read_csv(path, sep=sep, dtype=dtype, encoding="utf-8-sig", engine=engine)
    except pd.errors.EmptyDataError:
        raise MemdevError(f"{path}: file has no header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise MemdevError(f"{path}: cannot be parsed as CSV ({str(exc).strip()})") from None
    duplicated = _duplicate_header(path, sep)
    if duplicated:
        raise MemdevError(f"{path}: column {duplicated!r} appears more than once in the header")
    return frame


def _delimiter(path: Path) -> str:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        head = fh.readline()
    if not head.strip():
        raise MemdevError(f"{path}: the first line (the header) is empty")
    # Kaggle files are comma-separated; a header with semicolons and no commas
    # is the European export some competitions ship.
    if "," not in head and ";" in head:
        return ";"
    if "," not in head and "\t" in head:
        return "\t"
    return ","


def _duplicate_header(path: Path, sep: str) -> str | None:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return name
        seen.add(name)
    return None
