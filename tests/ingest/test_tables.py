"""Reading competition tables: CSV separators, encodings and exact id text, Parquet alike, or one clear error."""

from datetime import datetime
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import labeled_frames
from memdev.errors import MemdevError
from memdev.ingest import tables
from memdev.ingest.tables import read_csv, read_table


def write(tmp_path, text: str | bytes, name="t.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize("text", [
    "id,a,b\n1,2,x\n",
    "id;a;b\n1;2;x\n",
    "id\ta\tb\n1\t2\tx\n",
    "\ufeffid,a,b\r\n1,2,x\r\n",
])
def test_comma_semicolon_tab_bom_and_crlf_files_read_alike(tmp_path, text):
    frame = read_csv(write(tmp_path, text))
    assert list(frame.columns) == ["id", "a", "b"]
    assert frame.iloc[0].tolist() == [1, 2, "x"]


def test_the_named_id_column_is_kept_as_exact_text(tmp_path):
    frame = read_csv(write(tmp_path, "id,a\n007,1\n1e3,2\n"), "id")
    assert frame["id"].tolist() == ["007", "1e3"]


@pytest.mark.parametrize("text, message", [
    ("", "file is empty"),
    ("\n\n", "the first line \\(the header\\) is empty"),
    ("id,a,a\n1,2,3\n", "column 'a' appears more than once in the header"),
    ('id,a\n1,"unclosed\n', "cannot be parsed as CSV"),
    (b"id,a\n1,\xff\xfe\n", "line 2 is not UTF-8 text \\(byte 0xff\\); save the file as UTF-8"),
])
def test_a_bad_file_is_one_error_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(MemdevError, match=message) as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(MemdevError, match="absent.csv: file is missing"):
        read_csv(tmp_path / "absent.csv")


# --- a file bigger than memory allows is refused before it is read ----------------------


@pytest.fixture
def big_csv(tmp_path):
    """About 3 MiB of CSV: past the size at which the memory estimate runs."""
    rows = 100_000
    return write(tmp_path, "id,a,b\n" + "".join(f"{i},{i * 0.5},cat{i % 7}\n" for i in range(rows)))


def test_a_file_that_would_not_fit_in_memory_is_refused_before_reading(big_csv, monkeypatch):
    import memdev.ingest.tables as tables

    monkeypatch.setattr(tables, "available_memory", lambda: 4 << 20)
    monkeypatch.setattr(tables.pd, "read_csv", _only_the_sample(tables.pd.read_csv))
    with pytest.raises(MemdevError, match=r"t.csv: reading it needs about \d+ MiB of memory but only 4 MiB is free; "
                                          r"set chunked_from_mb to less than 1.8 in the competition's config.yaml"):
        read_csv(big_csv)


def _only_the_sample(read):
    """pandas.read_csv that fails the test if asked for the whole file."""
    def guarded(source, **options):
        assert not isinstance(source, (str, bytes)) and not hasattr(source, "stat"), "the whole file was read"
        return read(source, **options)
    return guarded


def test_the_estimate_is_within_a_factor_of_two_of_the_frame(big_csv, monkeypatch):
    import memdev.ingest.tables as tables

    frame = read_csv(big_csv)
    actual = tables.HEADROOM * int(frame.memory_usage(deep=True).sum())
    monkeypatch.setattr(tables, "available_memory", lambda: actual // 2)
    with pytest.raises(MemdevError, match="reading it needs about"):
        read_csv(big_csv)
    monkeypatch.setattr(tables, "available_memory", lambda: actual * 2)
    assert len(read_csv(big_csv)) == len(frame)


def test_available_memory_is_positive_and_below_the_machine_total():
    import os

    from memdev.ingest.tables import available_memory

    assert 0 < available_memory() <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


# --- Parquet ----------------------------------------------------------------------


@pytest.fixture
def both(tmp_path):
    """The same table as t.csv and t.parquet."""
    train = labeled_frames()[0]
    train.to_csv(tmp_path / "t.csv", index=False)
    train.to_parquet(tmp_path / "t.parquet", index=False)
    return tmp_path / "t.csv", tmp_path / "t.parquet"


def test_a_parquet_table_reads_as_its_csv_does(both):
    csv, parquet = both
    pd.testing.assert_frame_equal(read_table(parquet, "id"), read_table(csv, "id"))
    pd.testing.assert_frame_equal(read_table(parquet, "id", ["target"]), read_table(csv, "id", ["target"]))
    assert tables.header(parquet) == tables.header(csv) == ["id", "x1", "x2", "colour", "target"]
    assert read_table(parquet, "id")["id"].tolist()[:2] == ["100", "101"]


def test_parquet_categories_dates_and_decimals_read_as_text_and_numbers_and_a_pandas_index_is_dropped(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "id": [7, 8],
        "seen": pa.array([datetime(2024, 1, 1), datetime(2024, 1, 2)]),
        "kind": pa.array(["a", "b"]).dictionary_encode(),
        "price": pa.array([Decimal("1.50"), Decimal("2.25")], pa.decimal128(5, 2)),
        "__index_level_0__": [5, 6],
    }), path)
    frame = read_table(path, "id")
    assert list(frame.columns) == ["id", "seen", "kind", "price"]
    assert frame["id"].tolist() == ["7", "8"] and frame["kind"].tolist() == ["a", "b"]
    assert frame["price"].tolist() == [1.5, 2.25] and frame["seen"].iloc[0].startswith("2024-01-01")


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"id,a\n1,2\n", "cannot be read as Parquet"),
    (pa.Table.from_arrays([pa.array([1]), pa.array([2]), pa.array([3])], names=["id", "a", "a"]),
     "column 'a' appears more than once"),
    (pa.table({"id": [1], "tags": [[1, 2]]}), "column 'tags' holds list<element: int64> values"),
])
def test_a_bad_parquet_file_is_one_error_naming_it(tmp_path, content, message):
    path = tmp_path / "t.parquet"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        pq.write_table(content, path)
    with pytest.raises(MemdevError, match=message) as info:
        read_table(path, "id")
    assert str(path) in str(info.value)
    with pytest.raises(MemdevError, match="absent.parquet: file is missing"):
        read_table(tmp_path / "absent.parquet")


def test_a_parquet_file_that_would_not_fit_in_memory_is_refused_before_reading(both, monkeypatch):
    _, parquet = both
    monkeypatch.setattr(tables, "available_memory", lambda: 16)
    with pytest.raises(MemdevError, match=r"t.parquet: reading it needs about 0 MiB of memory but only 0 MiB is free; "
                                          r"set chunked_from_mb to less than 0.0"):
        read_table(parquet)


def test_parquet_streams_in_the_same_blocks_of_types_as_csv(both):
    csv, parquet = both
    streamed = [pa.Table.from_batches(list(tables.batches(path, "id", 256))) for path in (csv, parquet)]
    assert streamed[0].schema == streamed[1].schema  # numbers as float64, the rest (and the id) as text
    assert streamed[0].equals(streamed[1])
    assert len(list(tables.batches(parquet, "id", 256))) > 1  # in blocks
    assert tables.data_bytes(csv) == csv.stat().st_size and tables.data_bytes(parquet) > 0
