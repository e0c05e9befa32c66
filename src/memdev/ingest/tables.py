"""Reading competition tables, CSV or Parquet, with one clear error per kind of bad file.

Both formats come out alike: the id column as exact text, numbers as
numbers, everything else as text (Parquet's categories, dates and times
too), so schema detection and preprocessing never see the difference.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

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
# The column pandas stores a frame's index in: not one of the competition's columns.
PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def read_table(path: Path, id_column: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """A competition table, Parquet or CSV by its suffix (only ``columns``, when named); the id column as text."""
    return (read_parquet if is_parquet(path) else read_csv)(path, id_column, columns)


def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() == ".parquet"


def data_bytes(path: Path) -> int:
    """How much data a table holds: a CSV's size, a Parquet file's uncompressed columns."""
    if not is_parquet(path):
        return Path(path).stat().st_size
    meta = _parquet_file(path).metadata
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


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
    """The column names of a table, without reading its rows."""
    if is_parquet(path):
        return parquet_schema(path).names
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


def _exists(path: Path) -> None:
    if not path.exists():
        raise MemdevError(f"{path}: file is missing")
    if path.stat().st_size == 0:
        raise MemdevError(f"{path}: file is empty")


def dialect(path: Path) -> tuple[str, str]:
    """The field separator and decimal point of a CSV, from its first lines."""
    path = Path(path)
    _exists(path)
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
    _refuse_beyond_memory(path, HEADROOM * int(sample.memory_usage(deep=True).sum()) * size // max(len(head), 1))


def _refuse_beyond_memory(path: Path, needed: int) -> None:
    free = available_memory()
    if needed > free:
        raise MemdevError(
            f"{path}: reading it needs about {_size(needed)} of memory but only {_size(free)} is free; "
            f"set chunked_from_mb to less than {data_bytes(path) / 2**20:.1f} in the competition's config.yaml "
            f"so it is streamed in chunks"
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


# --- Parquet ---------------------------------------------------------------------------


def _parquet_file(path: Path) -> pq.ParquetFile:
    path = Path(path)
    _exists(path)
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise MemdevError(f"{path}: cannot be read as Parquet ({_first_line(exc)})") from None


def parquet_schema(path: Path, id_column: str | None = None) -> pa.Schema:
    """A Parquet file's columns as memdev reads them (see the module's docstring); one error naming a bad one."""
    fields = [f for f in _parquet_file(path).schema_arrow if not PANDAS_INDEX.fullmatch(f.name)]
    seen: set[str] = set()
    for field in fields:
        if field.name in seen:
            raise MemdevError(f"{path}: column {field.name!r} appears more than once")
        seen.add(field.name)
    return pa.schema([_plain(field, path, id_column) for field in fields])


def _plain(field: pa.Field, path: Path, id_column: str | None) -> pa.Field:
    kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    if field.name == id_column or pa.types.is_temporal(kind) or pa.types.is_large_string(kind):
        kind = pa.string()
    elif pa.types.is_decimal(kind) or pa.types.is_null(kind) or kind == pa.float16():
        kind = pa.float64()
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
              or pa.types.is_string(kind)):
        raise MemdevError(f"{path}: column {field.name!r} holds {kind} values; memdev reads columns of numbers, "
                          f"text, categories, dates and times")
    return pa.field(field.name, kind)


def read_parquet(path: Path, id_column: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Kaggle Parquet file (only ``columns``, when named), as :func:`read_csv` reads a CSV."""
    path = Path(path)
    schema = parquet_schema(path, id_column)
    if columns is not None:
        schema = pa.schema([f for f in schema if f.name in columns])
    else:
        # the frame is about the uncompressed data, and parsing needs no text buffer
        _refuse_beyond_memory(path, HEADROOM * data_bytes(path))
    try:
        table = pq.read_table(path, columns=schema.names).cast(schema)
    except (pa.ArrowException, OSError) as exc:
        raise MemdevError(f"{path}: cannot be read as Parquet ({_first_line(exc)})") from None
    return table.to_pandas(ignore_metadata=True)  # no pandas index restored: rows are numbered 0..n-1


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --- streaming a table bigger than memory --------------------------------------------


def batches(path: Path, id_column: str, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    """A table in blocks of about ``chunk_bytes``: numbers as float64, the id and everything else as text.

    The types are fixed up front (a CSV's by its first block), so every block
    has the same columns; a later CSV cell that is not a number is an error
    naming it.
    """
    path = Path(path)
    if is_parquet(path):
        yield from _parquet_batches(path, id_column, chunk_bytes)
        return
    sep, decimal = dialect(path)
    # quoted cells may hold line breaks (free-text columns)
    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=True)
    read = pacsv.ReadOptions(block_size=chunk_bytes)
    try:
        with pacsv.open_csv(path, read_options=read, parse_options=parse,
                            convert_options=pacsv.ConvertOptions(decimal_point=decimal)) as reader:
            types = {f.name: _streamed(f.type) for f in reader.schema}
        types[id_column] = pa.string()
        convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True, decimal_point=decimal)
        with pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert) as reader:
            yield from reader
    except pa.ArrowInvalid as exc:
        raise MemdevError(f"{path}: cannot be read as CSV ({str(exc).strip()})") from None


def _parquet_batches(path: Path, id_column: str, chunk_bytes: int) -> Iterator[pa.RecordBatch]:
    schema = parquet_schema(path, id_column)
    schema = pa.schema([pa.field(f.name, pa.string() if f.name == id_column else _streamed(f.type)) for f in schema])
    source = _parquet_file(path)
    rows = max(1, chunk_bytes * source.metadata.num_rows // max(data_bytes(path), 1))
    try:
        for batch in source.iter_batches(batch_size=rows, columns=schema.names):
            yield batch.cast(schema)
    except (pa.ArrowException, OSError) as exc:
        raise MemdevError(f"{path}: cannot be read as Parquet ({_first_line(exc)})") from None


def _streamed(kind: pa.DataType) -> pa.DataType:
    numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_null(kind)
    return pa.float64() if numeric else pa.string()
