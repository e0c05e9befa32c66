"""Reading competition CSVs, with one clear error per kind of bad file."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from memdev.errors import MemdevError

# Above this size pandas' pyarrow engine reads much faster than the C engine.
PYARROW_FROM_BYTES = 64 << 20
# A file bigger than this has its in-memory size estimated from this many
# leading bytes before it is read; smaller ones always fit.
SAMPLE_BYTES = 1 << 20
# Parsing peaks at about twice the finished frame, and preprocessing then
# derives float32 features from it.
HEADROOM = 2
# A cell of digits with a decimal comma, as in European spreadsheet exports.
DECIMAL_COMMA = re.compile(r"(?:^|;)\s*\"?-?\d+,\d+\"?\s*(?=;|$)", re.M)


def read_csv(path: Path, id_column: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Kaggle CSV (only ``columns``, when named); the id column is kept as exact text."""
    path = Path(path)
    sep, decimal = dialect(path)
    duplicated = _duplicate_header(path, sep)
    if duplicated:
        raise MemdevError(f"{path}: column {duplicated!r} appears more than once in the header")
    if columns is not None:
        return _read_columns(path, sep, decimal, id_column, columns)
    options = dict(sep=sep, decimal=decimal, dtype={id_column: str} if id_column else None,
                   encoding="utf-8-sig")
    check_memory(path, options)
    engine = "pyarrow" if path.stat().st_size > PYARROW_FROM_BYTES and sep == "," else "c"
    return _parse(path, engine=engine, **options)


def _read_columns(path: Path, sep: str, decimal: str, id_column: str | None, columns: list[str]) -> pd.DataFrame:
    # streamed block by block, keeping only these columns: memory for them alone,
    # whatever the file's size (pandas' pyarrow engine holds the whole file)
    convert = pacsv.ConvertOptions(
        include_columns=columns, column_types={id_column: pa.string()} if id_column else None,
        strings_can_be_null=True, decimal_point=decimal,
    )
    try:
        # quoted cells may hold line breaks (free-text columns)
        parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=True)
        with pacsv.open_csv(path, parse_options=parse, convert_options=convert) as reader:
            return reader.read_all().to_pandas()
    except pa.ArrowInvalid as exc:
        raise MemdevError(f"{path}: cannot be parsed as CSV ({str(exc).strip()})") from None


def header(path: Path) -> list[str]:
    """The column names of a CSV, without reading its rows."""
    return list(_parse(path, sep=dialect(path)[0], encoding="utf-8-sig", nrows=0).columns)


def _parse(path: Path, **options) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        raise MemdevError(f"{path}: file has no header row") from None
    except UnicodeDecodeError:
        raise MemdevError(f"{path}: {_not_utf8(path)}; save the file as UTF-8") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise MemdevError(f"{path}: cannot be parsed as CSV ({str(exc).strip()})") from None


def dialect(path: Path) -> tuple[str, str]:
    """The field separator and decimal point of a CSV, from its first lines."""
    path = Path(path)
    if not path.exists():
        raise MemdevError(f"{path}: file is missing")
    if path.stat().st_size == 0:
        raise MemdevError(f"{path}: file is empty")
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        lines = [fh.readline() for _ in range(20)]
    head = lines[0]
    if not head.strip():
        raise MemdevError(f"{path}: the first line (the header) is empty")
    # Kaggle files are comma-separated; a header with semicolons and no commas
    # is the European export some competitions ship, often with decimal commas.
    if "," not in head and ";" in head:
        return ";", "," if DECIMAL_COMMA.search("".join(lines[1:])) else "."
    if "," not in head and "\t" in head:
        return "\t", "."
    return ",", "."


def check_memory(path: Path, options: dict) -> None:
    """Refuse, before reading, a file whose frame would not fit in free memory.

    The frame's size is extrapolated from the bytes per cell of its leading
    rows, so text columns (a Python object per cell) count for what they cost.
    """
    size = path.stat().st_size
    if size <= SAMPLE_BYTES:
        return
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    head = head[: head.rfind(b"\n") + 1]
    try:
        sample = pd.read_csv(io.BytesIO(head), **options)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return  # the real read names the problem
    needed = HEADROOM * int(sample.memory_usage(deep=True).sum()) * size // max(len(head), 1)
    free = available_memory()
    if needed > free:
        raise MemdevError(
            f"{path}: reading it needs about {_size(needed)} of memory but only {_size(free)} is free; "
            f"set chunked_from_mb to less than {size / 2**20:.1f} in the competition's config.yaml so it is "
            f"streamed in chunks"
        )


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def available_memory() -> int:
    """Bytes this process may still allocate: free RAM, capped by a container's cgroup limit."""
    try:
        with open("/proc/meminfo") as fh:
            free = next(int(line.split()[1]) << 10 for line in fh if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    root = Path("/sys/fs/cgroup")
    # cgroup v2, then v1; page cache the kernel would reclaim counts as free
    for limit, usage, cache in (("memory.max", "memory.current", "inactive_file"),
                                ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes", "total_inactive_file")):
        try:
            cap = (root / limit).read_text().strip()
            used = int((root / usage).read_text())
            stat = dict(line.split() for line in (root / limit).with_name("memory.stat").read_text().splitlines())
        except (OSError, ValueError):
            continue
        if cap.isdigit():
            free = min(free, int(cap) - used + int(stat.get(cache, 0)))
        break
    return free


def _not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8, for the error message."""
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {number} is not UTF-8 text (byte {line[exc.start]:#04x})"
    return "is not UTF-8 text"


def _duplicate_header(path: Path, sep: str) -> str | None:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            return name
        seen.add(name)
    return None
