"""The data stage: zips unpacked safely, the kaggle CLI, and the built-in demo."""

import io
import os
import re

import pandas as pd
import pytest
import yaml

from conftest import kaggle_zip_entries, labeled_frames, memdev, snapshot, symlink_entry, write_zip
from memdev.errors import MemdevError
from memdev.ingest import fetch
from memdev.paths import Paths


@pytest.fixture
def existing_raw(tmp_path):
    """A competition whose raw folder already holds files the user cares about."""
    paths = Paths("comp", tmp_path)
    paths.raw.mkdir(parents=True)
    paths.train_csv.write_text("id,x,y\n1,2,0\n")
    (paths.raw / "notes.txt").write_text("mine")
    return paths


BAD_ZIPS = {
    "parent": ({"../evil.csv": "a,b\n1,2\n"}, "'../evil.csv' points outside"),
    "nested parent": ({"train.csv": "a\n1\n", "sub/../../evil.csv": "a\n1\n"}, "points outside"),
    "absolute": ({"/tmp/evil.csv": "a,b\n1,2\n"}, "'/tmp/evil.csv' points outside"),
    "drive letter": ({"C:evil.csv": "a\n"}, "points outside"),
    "symlink": ({symlink_entry("passwd.csv"): "/etc/passwd"}, "'passwd.csv' is a symbolic link"),
    # 5 MiB of one byte deflates about 1000x: the mark of a decompression bomb
    "bomb": ({"big.csv": b"0" * (5 << 20)}, "'big.csv' expands \\d+x; refused as a likely decompression bomb"),
}


@pytest.mark.parametrize("entries, message", BAD_ZIPS.values(), ids=BAD_ZIPS.keys())
def test_unpack_refuses_a_dangerous_zip_and_leaves_the_raw_folder_untouched(tmp_path, existing_raw, entries, message):
    archive = write_zip(tmp_path / "bad.zip", {**kaggle_zip_entries(), **entries})
    before = snapshot(existing_raw.comp)
    with pytest.raises(MemdevError, match=message) as info:
        fetch.unpack(archive, existing_raw.raw)
    assert str(archive) in str(info.value)
    assert snapshot(existing_raw.comp) == before
    assert sorted(p.name for p in existing_raw.comp.iterdir()) == ["raw"]  # no temporary folder left behind
    assert not (tmp_path / "evil.csv").exists() and not os.path.exists("/tmp/evil.csv")


def test_a_compressible_but_small_entry_is_not_called_a_bomb(tmp_path):
    entries = {**kaggle_zip_entries(), "notes.csv": b"0" * (512 << 10)}
    fetch.unpack(write_zip(tmp_path / "ok.zip", entries), tmp_path / "raw")
    assert (tmp_path / "raw" / "notes.csv").stat().st_size == 512 << 10


def test_unpack_flattens_a_top_folder_and_replaces_older_files(tmp_path, existing_raw):
    entries = {f"competition/{name}": text for name, text in kaggle_zip_entries().items()}
    fetch.unpack(write_zip(tmp_path / "ok.zip", entries), existing_raw.raw)
    assert existing_raw.train_csv.read_text() == kaggle_zip_entries()["train.csv"]
    assert (existing_raw.raw / "notes.txt").read_text() == "mine"
    assert existing_raw.sample_csv.exists() and existing_raw.test_csv.exists()


def test_the_same_zip_unpacked_again_leaves_its_files_and_their_times_as_they_were(tmp_path, existing_raw):
    archive = write_zip(tmp_path / "ok.zip", kaggle_zip_entries())
    fetch.unpack(archive, existing_raw.raw)
    os.utime(existing_raw.train_csv, (1_000_000, 1_000_000))  # make compares times: an old one must stay old
    os.utime(existing_raw.test_csv, (1_000_000, 1_000_000))
    changed = {**kaggle_zip_entries(), "test.csv": kaggle_zip_entries()["test.csv"] + "999,1,2,red\n"}
    fetch.unpack(write_zip(tmp_path / "new.zip", changed), existing_raw.raw)
    assert existing_raw.train_csv.stat().st_mtime == 1_000_000
    assert existing_raw.test_csv.stat().st_mtime > 1_000_000
    assert existing_raw.test_csv.read_text().endswith("999,1,2,red\n")


def test_a_file_that_is_not_a_zip_is_a_clear_error(tmp_path):
    (tmp_path / "x.zip").write_text("not a zip")
    with pytest.raises(MemdevError, match="not a zip file"):
        fetch.unpack(tmp_path / "x.zip", tmp_path / "raw")
    with pytest.raises(MemdevError, match="no such file"):
        fetch.unpack(tmp_path / "absent.zip", tmp_path / "raw")


def test_fetch_from_a_zip_writes_raw_files_and_the_detected_config(tmp_path):
    paths = Paths("comp", tmp_path)
    fetch.fetch(paths, str(write_zip(tmp_path / "c.zip", kaggle_zip_entries())))
    written = yaml.safe_load(paths.config.read_text())
    assert (written["id_column"], written["target_column"], written["regime"]) == ("id", "target", "weak")


def test_fetch_of_a_zip_without_the_sample_names_the_missing_file(tmp_path):
    entries = kaggle_zip_entries()
    del entries["sample_submission.csv"]
    with pytest.raises(MemdevError, match="missing sample_submission.csv"):
        fetch.fetch(Paths("comp", tmp_path), str(write_zip(tmp_path / "c.zip", entries)))


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_fetch_takes_parquet_tables_or_a_mix_with_csv_and_detects_the_same_config(tmp_path):
    csv = Paths("csv", tmp_path)
    fetch.fetch(csv, str(write_zip(tmp_path / "csv.zip", kaggle_zip_entries())))
    train, test, _ = labeled_frames()
    entries = {"train.parquet": parquet_bytes(train), "test.parquet": parquet_bytes(test),
               "sample_submission.csv": kaggle_zip_entries()["sample_submission.csv"]}
    mixed = Paths("mixed", tmp_path)
    fetch.fetch(mixed, str(write_zip(tmp_path / "mixed.zip", entries)))
    assert [p.name for p in (mixed.train_file, mixed.test_file, mixed.sample_file)] == [
        "train.parquet", "test.parquet", "sample_submission.csv"]
    detected = [yaml.safe_load(p.config.read_text()) for p in (csv, mixed)]
    assert {**detected[0], "slug": "mixed"} == detected[1]


def test_a_zip_with_a_table_in_neither_format_names_it(tmp_path):
    entries = {"train.parquet": parquet_bytes(labeled_frames()[0]), "sample_submission.csv": "id,target\n1,0\n"}
    with pytest.raises(MemdevError, match="missing test.csv .*each as .csv or .parquet"):
        fetch.fetch(Paths("comp", tmp_path), str(write_zip(tmp_path / "c.zip", entries)))


def test_fetch_keeps_a_config_the_user_edited(tmp_path, caplog):
    paths = Paths("comp", tmp_path)
    archive = str(write_zip(tmp_path / "c.zip", kaggle_zip_entries()))
    fetch.fetch(paths, archive)
    edited = paths.config.read_text().replace("seed: 0", "seed: 42")
    paths.config.write_text(edited)
    fetch.fetch(paths, archive)
    assert paths.config.read_text() == edited
    assert "kept your config" in caplog.text


# --- the built-in demo -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    paths = Paths("demo", tmp_path_factory.mktemp("demo"))
    fetch.fetch(paths)
    return paths


def test_demo_is_a_kaggle_competition_with_target_anomaly_and_about_ten_percent_anomalies(demo):
    train = pd.read_csv(demo.train_csv)
    assert "anomaly" in train.columns and train.columns[0] == "id"
    assert set(train["anomaly"]) == {0, 1}
    assert 0.08 < train["anomaly"].mean() < 0.12
    test = pd.read_csv(demo.test_csv)
    assert "anomaly" not in test.columns
    assert list(test.columns) == [c for c in train.columns if c not in ("anomaly", "digit")]
    # the digit is the grouping column of the per-class report: train.csv only
    assert ((train["digit"] == 0) == (train["anomaly"] == 1)).all()


def test_demo_sample_ids_are_the_test_ids(demo):
    test, sample = pd.read_csv(demo.test_csv), pd.read_csv(demo.sample_csv)
    assert list(sample.columns) == ["id", "anomaly"]
    assert sample["id"].tolist() == test["id"].tolist()
    assert test["id"].is_unique
    assert set(sample["anomaly"]) == {0}
    assert not set(test["id"]) & set(pd.read_csv(demo.train_csv)["id"])


def test_demo_solution_has_the_test_labels_and_a_public_private_usage_split(demo):
    solution, test = pd.read_csv(demo.demo_solution), pd.read_csv(demo.test_csv)
    assert solution["id"].tolist() == test["id"].tolist()
    assert set(solution["Usage"]) == {"Public", "Private"}
    assert ((solution["digit"] == 0) == (solution["anomaly"] == 1)).all()
    assert 0.08 < solution["anomaly"].mean() < 0.12
    assert not demo.demo_solution.is_relative_to(demo.raw)  # the pipeline never sees the answers


def test_demo_config_is_detected_as_a_full_label_competition(demo):
    written = yaml.safe_load(demo.config.read_text())
    assert (written["id_column"], written["target_column"], written["submission"], written["regime"], written["metric"]) == (
        "id", "anomaly", "label", "full", "f1")
    assert written["group_column"] == "digit"


def test_demo_is_the_same_bytes_every_time(tmp_path, demo):
    again = Paths("demo", tmp_path)
    fetch.write_demo(again)
    for name in ("train.csv", "test.csv", "sample_submission.csv"):
        assert (again.raw / name).read_bytes() == (demo.raw / name).read_bytes()


# --- the kaggle CLI ----------------------------------------------------------------

STUB = """#!/bin/sh
printf '%s\\n' "$*" >> "$STUB_LOG"
folder=""
previous=""
for arg in "$@"; do
  if [ "$previous" = "-p" ]; then folder="$arg"; fi
  previous="$arg"
done
cp "$STUB_PAYLOAD" "$folder/$3.zip"
"""

CREDENTIAL_VARIABLES = ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_CONFIG_DIR")


@pytest.fixture
def kaggle_stub(tmp_path, monkeypatch):
    """A fake `kaggle` on PATH that logs its arguments and drops a competition zip into `-p`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "kaggle"
    exe.write_text(STUB)
    exe.chmod(0o755)
    log = tmp_path / "kaggle-args.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STUB_LOG", str(log))
    monkeypatch.setenv("STUB_PAYLOAD", str(write_zip(tmp_path / "payload.zip", kaggle_zip_entries())))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return log


def test_download_calls_the_kaggle_cli_and_unpacks_its_zip_into_raw(tmp_path, kaggle_stub, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    paths = Paths("my-comp", tmp_path / "project")
    fetch.fetch(paths)
    calls = kaggle_stub.read_text().splitlines()
    assert len(calls) == 1
    assert re.fullmatch(r"competitions download my-comp -p (\S+)", calls[0])
    assert sorted(p.name for p in paths.raw.iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert paths.train_csv.read_text() == kaggle_zip_entries()["train.csv"]
    assert paths.config.exists()


def test_download_without_the_kaggle_cli_says_to_pip_install_it(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(MemdevError, match="pip install kaggle") as info:
        fetch.fetch(Paths("my-comp", tmp_path))
    assert "ZIP=" in str(info.value)  # and offers the manual way


@pytest.mark.parametrize("partial", [{}, {"KAGGLE_USERNAME": "alice-7f3e9"}, {"KAGGLE_KEY": "k3y-0123456789abcdef"}],
                         ids=["nothing", "username only", "key only"])
def test_download_without_credentials_names_what_to_set_and_never_echoes_a_value(tmp_path, kaggle_stub, monkeypatch, partial):
    for name, value in partial.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(MemdevError) as info:
        fetch.fetch(Paths("my-comp", tmp_path / "project"))
    message = str(info.value)
    for needed in ("KAGGLE_USERNAME", "KAGGLE_KEY", "kaggle.json"):
        assert needed in message
    for value in partial.values():
        assert value not in message
    assert not kaggle_stub.exists()  # the CLI was never run without credentials


# --- raw files that are not all there, and no kaggle CLI (what `make train` with a mistyped COMP reaches) ---------


@pytest.fixture
def no_kaggle_cli(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def competition(root, slug):
    """A brought-in competition: its three raw tables and a config."""
    paths = Paths(slug, root)
    paths.raw.mkdir(parents=True)
    for name, text in kaggle_zip_entries().items():
        (paths.raw / name).write_text(text)
    paths.config.write_text("id_column: id\n")
    return paths


def test_a_mistyped_slug_names_the_competitions_here_the_closest_one_and_the_two_ways_in(tmp_path, no_kaggle_cli):
    for slug in ("cardio", "mammo"):
        competition(tmp_path, slug)
    paths = Paths("cardoi", tmp_path)
    with pytest.raises(MemdevError) as info:
        fetch.fetch(paths)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{paths.comp} has no raw files")
    assert "the competitions in" in message and "cardio, mammo; did you mean COMP=cardio?" in message
    assert "make data COMP=cardoi ZIP=path.zip" in message and "pip install kaggle" in message
    assert not paths.comp.exists()  # a typo leaves no folder behind


def test_a_slug_like_no_competition_here_gets_no_guess(tmp_path, no_kaggle_cli):
    competition(tmp_path, "cardio")
    with pytest.raises(MemdevError) as info:
        fetch.fetch(Paths("titanic", tmp_path))
    assert "the competitions in" in str(info.value) and "cardio)" in str(info.value)
    assert "did you mean" not in str(info.value)


def test_the_built_in_demo_is_a_guess_for_a_mistyped_demo_in_an_empty_project(tmp_path, no_kaggle_cli):
    with pytest.raises(MemdevError, match=r"no competition in \S+ yet; did you mean COMP=demo\?"):
        fetch.fetch(Paths("dmeo", tmp_path))


def test_a_deleted_raw_file_is_named_with_how_to_bring_it_back(tmp_path, no_kaggle_cli):
    paths = competition(tmp_path, "mammo")
    paths.test_csv.unlink()
    with pytest.raises(MemdevError) as info:
        fetch.fetch(paths)
    message = str(info.value)
    assert message.startswith(f"{paths.raw} has no test.csv (it has train.csv and sample_submission.csv)")
    assert "put test.csv back" in message and "make data COMP=mammo ZIP=path.zip" in message
    assert "pip install kaggle" in message and "did you mean" not in message


def test_with_the_kaggle_cli_installed_a_deleted_raw_file_is_downloaded_again(tmp_path, kaggle_stub, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "not-a-real-key")
    paths = competition(tmp_path / "project", "mammo")
    paths.test_csv.unlink()
    fetch.fetch(paths)
    assert re.fullmatch(r"competitions download mammo -p (\S+)", kaggle_stub.read_text().strip())
    assert paths.test_csv.read_text() == kaggle_zip_entries()["test.csv"]
    assert paths.config.read_text() == "id_column: id\n"  # the user's config kept


def test_the_data_stage_make_train_runs_for_a_mistyped_comp_says_so_in_one_line(tmp_path, no_kaggle_cli):
    competition(tmp_path, "cardio")
    result = memdev(tmp_path, "data", "--comp", "cardoi")  # what the Makefile runs for missing raw files
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("memdev data: error: ") and "did you mean COMP=cardio?" in line
