"""Write-then-rename: a failed or interrupted write never leaves a half-written file."""

import pytest

from memdev import atomic


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "x.npy"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(path) as tmp:
            assert tmp.parent == path.parent and tmp.suffix == ".npy" and tmp != path
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.npy"]


def test_a_successful_write_replaces_the_file_and_creates_folders(tmp_path):
    path = tmp_path / "a" / "b" / "x.txt"
    atomic.write_text(path, "new ü")
    atomic.write_text(path, "newer ü")
    assert path.read_text(encoding="utf-8") == "newer ü"
    assert [p.name for p in path.parent.iterdir()] == ["x.txt"]


def test_append_line_starts_with_the_header_and_keeps_earlier_lines(tmp_path):
    path = tmp_path / "ledger.csv"
    atomic.append_line(path, "1,a", header="n,v")
    path.write_text(path.read_text().rstrip("\n"))  # a file someone saved without a final newline
    atomic.append_line(path, "2,b", header="n,v")
    assert path.read_text() == "n,v\n1,a\n2,b\n"


def test_sha256_is_the_hex_digest_of_the_bytes(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert atomic.sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def dead_pid() -> str:
    """The pid of a process that has ended."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()


def test_a_temporary_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    orphan = tmp_path / f".x.{dead_pid()}.abc123.npy"
    live = tmp_path / ".x.1.def456.npy"  # pid 1 is always running: another writer, left alone
    for path in (orphan, live):
        path.write_text("half")
    atomic.write_text(tmp_path / "x.npy", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "x.npy"]


def test_write_new_never_takes_the_name_of_an_existing_file(tmp_path):
    target = tmp_path / "sub" / "20261123T120000Z_f1-0.5000.csv"
    written = [atomic.write_new(target, f"{i}\n".encode()) for i in range(3)]
    assert [p.name for p in written] == ["20261123T120000Z_f1-0.5000.csv", "20261123T120000Z_f1-0.5000_2.csv",
                                         "20261123T120000Z_f1-0.5000_3.csv"]
    assert [p.read_text() for p in written] == ["0\n", "1\n", "2\n"]
    assert sorted(p.name for p in target.parent.iterdir()) == sorted(p.name for p in written)  # no temporary left


def test_write_new_removes_the_temporaries_killed_writers_left_under_other_names(tmp_path):
    # a submission killed a second earlier: its name had another timestamp
    orphan = tmp_path / f".20261123T115959Z_f1-0.5000.{dead_pid()}.abc123.csv"
    live = tmp_path / ".20261123T115959Z_f1-0.5000.1.def456.csv"  # pid 1 is always running
    for path in (orphan, live):
        path.write_text("half")
    written = atomic.write_new(tmp_path / "20261123T120000Z_f1-0.5000.csv", b"new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, written.name]
