"""Reading competition CSVs: separators, encodings and exact id text, or one clear error."""

import pytest

from memdev.errors import MemdevError
from memdev.tables import read_csv


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
    (b"id,a\n1,\xff\xfe\n", "cannot be parsed as CSV"),
])
def test_a_bad_file_is_one_error_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(MemdevError, match=message) as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(MemdevError, match="absent.csv: file is missing"):
        read_csv(tmp_path / "absent.csv")
