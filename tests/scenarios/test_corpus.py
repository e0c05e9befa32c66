"""The input corpus: broken and awkward competitions, end to end through the CLI.

Each case writes one competition into a fresh project folder (raw files, or a
zip for ``--zip``) and runs ``memdev data`` then ``memdev preprocess``, the
commands ``make data`` and ``make preprocess`` run. The table states the exact
outcome: the stage that refuses and what its one-line error names (exit 2, no
traceback, nothing written), or a run whose features must be right. The same
kind of awkward competition goes on through training and submission in
test_kill.py.
"""

from __future__ import annotations

import gzip
import json
import struct
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import labeled_frames, memdev, symlink_entry, write_competition, write_zip
from memdev.features import preprocess
from memdev.ingest import schema
from memdev.paths import Paths

SLUG = "corpus"
TRAIN, TEST, SAMPLE = labeled_frames()


# --- building competitions ------------------------------------------------------------


def files(train=TRAIN, test=TEST, sample=SAMPLE, **to_csv) -> Callable:
    """Raw files: frames (written with ``to_csv`` options) or exact text or bytes."""
    def write(root):
        raw = Paths(SLUG, root).raw
        raw.mkdir(parents=True)
        for name, content in (("train.csv", train), ("test.csv", test), ("sample_submission.csv", sample)):
            if isinstance(content, pd.DataFrame):
                content = content.to_csv(index=False, **to_csv)
            (raw / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return []
    return write


def zipped(entries: dict, patch: Callable[[bytes], bytes] = lambda b: b) -> Callable:
    """A Kaggle zip of the plain files with ``entries`` added (a ``None`` value drops a file)."""
    def write(root):
        plain = {name: frame.to_csv(index=False) for name, frame in
                 (("train.csv", TRAIN), ("test.csv", TEST), ("sample_submission.csv", SAMPLE))}
        merged = {k: v for k, v in {**plain, **entries}.items() if v is not None}
        path = write_zip(root / "download.zip", merged)
        path.write_bytes(patch(path.read_bytes()))
        return ["--zip", str(path)]
    return write


def cell(frame: pd.DataFrame, column: str, row, value) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return frame


def with_ids(ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The plain competition with the test ids replaced (train ids are never used)."""
    return TRAIN, TEST.assign(id=ids), SAMPLE.assign(id=ids)


def target(values) -> pd.DataFrame:
    return TRAIN.assign(target=values)


def lying_sizes(data: bytes) -> bytes:
    """Make every entry of a zip declare 100 bytes unpacked, whatever it holds."""
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at >= 0:
            struct.pack_into("<I", data, at + offset, 100)
            at = data.find(signature, at + 4)
    return bytes(data)


def truncated_gzip(text: str) -> bytes:
    """A gzip cut off half way, ending in a trailer that declares 2 GiB unpacked."""
    whole = gzip.compress(text.encode())
    return whole[: len(whole) // 2] + struct.pack("<II", 0, 2 << 30)


QUOTED = ["red, bright", "blue\nwith a line break", 'a "quoted" word', "plain"]
WIDE_ROWS = 20
WIDE = pd.DataFrame(np.random.default_rng(0).normal(size=(WIDE_ROWS + 5, 10_000)).round(3),
                    columns=[f"c{i}" for i in range(10_000)]).assign(id=range(WIDE_ROWS + 5))
LONG_IDS = [str(12345678901234567890 + i) for i in range(len(TEST))]
ZERO_PADDED = [f"{i:06d}" for i in TEST["id"]]


# --- what must hold --------------------------------------------------------------------


class Refused(NamedTuple):
    stage: str
    parts: tuple[str, ...]


class Runs(NamedTuple):
    checks: tuple[Callable, ...]


def refused(stage: str, *parts: str) -> Refused:
    return Refused(stage, parts)


def runs(*checks: Callable) -> Runs:
    return Runs(checks)


def features(paths: Paths) -> dict[str, np.ndarray]:
    return {name: np.load(path) for name, path in
            (("X_train", paths.x_train), ("X_test", paths.x_test), ("y", paths.y_train))}


def same_as_plain(paths, plain):
    for name, array in features(paths).items():
        np.testing.assert_allclose(array, plain[name], rtol=1e-6, err_msg=name)


def same_train_as_plain(paths, plain):
    got = features(paths)
    np.testing.assert_allclose(got["X_train"], plain["X_train"], rtol=1e-6)
    assert got["X_test"].shape == plain["X_test"].shape and np.isfinite(got["X_test"]).all()


def ids(expected: list[str]):
    def check(paths, plain):
        assert pd.read_parquet(paths.test_ids)["id"].tolist() == expected
    return check


def shape(train: tuple, test: tuple):
    def check(paths, plain):
        got = features(paths)
        assert (got["X_train"].shape, got["X_test"].shape) == (train, test)
    return check


def categorical(*columns: str):
    def check(paths, plain):
        assert set(columns) <= set(json.loads((paths.features / "features.json").read_text())["categorical"])
    return check


def label_map(expected: dict):
    def check(paths, plain):
        assert yaml.safe_load(paths.config.read_text())["label_map"] == expected
    return check


def unlabeled(paths, plain):
    config = yaml.safe_load(paths.config.read_text())
    assert (config["regime"], config["target_column"]) == ("unsupervised", "target")
    assert not features(paths)["y"].any()
    assert "target" not in json.loads((paths.features / "features.json").read_text())["numeric"]


CHUNKED = {"chunked_from_mb": 0}  # stream even a tiny train.csv, as a big one is

# id: (how the competition is written, config edits after `memdev data`, outcome)
CASES = {
    # files that are empty, or nearly
    "empty train.csv": (files(train=""), {}, refused("data", "train.csv: file is empty")),
    "empty test.csv": (files(test=""), {}, refused("data", "test.csv: file is empty")),
    "empty sample_submission.csv": (files(sample=""), {}, refused("data", "sample_submission.csv: file is empty")),
    "header-only train": (files(train="id,x1,x2,colour,target\n"), {}, refused("data", "train.csv: has a header but no rows")),
    "header-only test": (files(test="id,x1,x2,colour\n"), {}, refused("preprocess", "test.csv: has a header but no rows")),
    "one training row": (files(train=TRAIN.head(1)), {},
                         refused("preprocess", "train.csv: has 1 row; 5-fold cross-validation needs at least 5")),
    "sample without a target column": (files(sample=SAMPLE[["id"]]), {},
                                       refused("data", "sample_submission.csv: needs two columns (id, target); found ['id']")),
    # encodings, separators, quoting
    "BOM and CRLF": (files(encoding="utf-8-sig", lineterminator="\r\n"), {}, runs(same_as_plain)),
    "semicolons": (files(sep=";"), {}, runs(same_as_plain)),
    "semicolons and decimal commas, chunked": (files(sep=";", decimal=","), CHUNKED, runs(same_as_plain)),
    "quoted commas, quotes and line breaks": (
        files(train=TRAIN.assign(note=[QUOTED[i % 4] for i in range(60)]), test=TEST.assign(note=QUOTED[1])),
        {}, runs(shape((60, 8), (20, 8)), categorical("colour", "note"))),
    "quoted line breaks, chunked": (
        files(train=TRAIN.assign(note=[QUOTED[i % 4] for i in range(60)]), test=TEST.assign(note=QUOTED[1])),
        CHUNKED, runs(shape((60, 8), (20, 8)), categorical("colour", "note"))),
    "latin-1 text": (files(train=TRAIN.to_csv(index=False).replace("red", "rosé", 2).encode("latin-1")), {},
                     refused("data", "train.csv: line 2 is not UTF-8 text (byte 0xe9); save the file as UTF-8")),
    # columns
    "test with an extra column": (files(test=TEST.assign(x9=1.0)), {}, runs(same_as_plain)),
    "train with a column test lacks": (files(train=TRAIN.assign(outcome=1.0)), {}, runs(same_as_plain)),
    "test with reordered columns": (files(test=TEST[["colour", "x2", "id", "x1"]]), {}, runs(same_as_plain)),
    "duplicate column in train": (files(train="id,x1,x1,target\n1,2,3,0\n"), {},
                                  refused("data", "train.csv: column 'x1' appears more than once in the header")),
    "duplicate column in test": (files(test=TEST.to_csv(index=False).replace("colour", "x1", 1)), {},
                                 refused("preprocess", "test.csv: column 'x1' appears more than once in the header")),
    "all-NaN column": (files(train=cell(TRAIN, "x1", slice(None), np.nan)), {}, runs(shape((60, 3), (20, 3)))),
    "text in a numeric column": (files(train=cell(TRAIN, "x1", 10, "#REF!")), {},
                                 refused("preprocess", "train.csv: column 'x1' holds numbers but '#REF!' at row 12")),
    "inf in train": (files(train=cell(TRAIN, "x1", 5, "inf")), {}, refused("preprocess", "train.csv: column 'x1' has inf at row 7")),
    "-inf in test": (files(test=cell(TEST, "x2", 2, "-inf")), {}, refused("preprocess", "test.csv: column 'x2' has -inf at row 4")),
    "category seen only in test": (files(test=cell(TEST, "colour", [0, 5], "green")), {}, runs(same_train_as_plain)),
    "10,000 columns": (files(train=WIDE.head(WIDE_ROWS).assign(target=[0, 1] * (WIDE_ROWS // 2)),
                             test=WIDE.tail(5), sample=WIDE.tail(5)[["id"]].assign(target=0)),
                       {}, runs(shape((WIDE_ROWS, 10_000), (5, 10_000)))),
    # ids
    "string ids": (files(*with_ids([f"A-{i:04d}" for i in range(len(TEST))])), {},
                   runs(ids([f"A-{i:04d}" for i in range(len(TEST))]))),
    "20-digit ids": (files(*with_ids(LONG_IDS)), {}, runs(ids(LONG_IDS))),
    "sample ids without the test's zero padding": (files(*with_ids(ZERO_PADDED)[:2], SAMPLE), {},
                                                   refused("preprocess", "sample_submission.csv: id '160' is not in test.csv")),
    "duplicated test ids": (files(test=cell(TEST, "id", 1, 160)), {},
                            refused("preprocess", "test.csv: id '160' appears more than once in column 'id'")),
    "duplicated train ids": (files(train=TRAIN.assign(id=7)), {}, runs(same_as_plain)),  # never features, never submitted
    # targets
    "target of strings": (files(train=target(np.where(TRAIN["target"] == 1, "yes", "no"))), {},
                          runs(same_as_plain, label_map({"yes": 1, "no": 0}))),
    "target of two equally common strings": (files(train=target(np.where(np.arange(60) % 2, "yes", "no"))), {},
                                             refused("preprocess", "train.csv: target column 'target' must hold 0/1; "
                                                     "found no, yes (first at row 2)", "label_map: {'yes': 1, 'no': 0}")),
    "target of three strings": (files(train=target(np.array(["no", "yes", "maybe"])[np.arange(60) % 3])), {},
                                refused("preprocess", "must hold 0/1; found maybe, no, yes")),
    "target of strings with a label_map": (files(train=target(np.where(TRAIN["target"] == 1, "yes", "no"))),
                                           {"label_map": {"yes": 1, "no": 0}}, runs(same_as_plain)),
    "target of floats 0.0/1.0": (files(train=target(TRAIN["target"].astype(float))), {}, runs(same_as_plain)),
    "target of probabilities": (files(train=target(np.where(TRAIN["target"] == 1, 0.9, 0.2))), {},
                                refused("preprocess", "target column 'target' must hold 0/1; found 0.2, 0.9")),
    "target in {-1, 1}": (files(train=target(np.where(TRAIN["target"] == 1, 1, -1))), {},
                          runs(same_as_plain, label_map({"1": 1, "-1": 0}))),
    "target in {-1, 1}, anomalies -1": (files(train=target(np.where(TRAIN["target"] == 1, -1, 1))), {},
                                        runs(same_as_plain, label_map({"-1": 1, "1": 0}))),
    "target all zero": (files(train=target(0)), {}, runs(unlabeled)),
    "target all one": (files(train=target(1)), {},
                       refused("preprocess", "every row of target column 'target' is 1; there are no normal rows")),
    # archives
    "zip with a ../ path": (zipped({"../evil.csv": "a\n1\n"}), {}, refused("data", "entry '../evil.csv' points outside the target folder")),
    "zip with an absolute path": (zipped({"/tmp/evil.csv": "a\n1\n"}), {}, refused("data", "entry '/tmp/evil.csv' points outside")),
    "zip with a symlink": (zipped({symlink_entry("passwd.csv"): "/etc/passwd"}), {},
                           refused("data", "entry 'passwd.csv' is a symbolic link; refused")),
    "zip bomb": (zipped({"big.csv": b"0" * (5 << 20)}), {}, refused("data", "entry 'big.csv' expands", "decompression bomb")),
    "zip declaring false sizes": (zipped({}, lying_sizes), {}, refused("data", "is truncated or corrupt", "download it again")),
    "not a zip": (zipped({}, lambda b: b[: len(b) // 2]), {}, refused("data", "download.zip: not a zip file")),
    "zip missing test.csv": (zipped({"test.csv": None}), {}, refused("data", "download.zip: missing test.csv")),
    "gzipped train in the zip": (zipped({"train.csv": None, "train.csv.gz": gzip.compress(TRAIN.to_csv(index=False).encode())}),
                                 {}, runs(same_as_plain)),
    "truncated gzip declaring 2 GiB": (zipped({"train.csv": None, "train.csv.gz": truncated_gzip(TRAIN.to_csv(index=False))}),
                                       {}, refused("data", "entry 'train.csv.gz' is truncated or corrupt")),
    "gzip bomb in the zip": (zipped({"train.csv": None, "train.csv.gz": gzip.compress(b"0" * (20 << 20))}), {},
                             refused("data", "entry 'train.csv.gz' expands", "decompression bomb")),
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> dict[str, np.ndarray]:
    """The features of the plain competition, which the awkward spellings of it must reproduce."""
    paths = write_competition(Paths(SLUG, tmp_path_factory.mktemp("plain")), TRAIN, TEST, SAMPLE)
    preprocess.run(schema.detect(paths), paths)
    return features(paths)


def edit_config(paths: Paths, changes: dict) -> None:
    config = yaml.safe_load(paths.config.read_text())
    config.update(changes)
    paths.config.write_text(yaml.safe_dump(config))


def run_stages(root, setup, config_changes, debug: bool = False):
    """Run data then preprocess; return the first that fails (or preprocess), its result and
    the arguments `data` got."""
    data_args = setup(root)
    paths = Paths(SLUG, root)
    for stage in ("data", "preprocess"):
        flags = ["--debug"] if debug else []
        result = memdev(root, *flags, stage, "--comp", SLUG, *(data_args if stage == "data" else []), timeout=300)
        if result.returncode:
            break
        if stage == "data" and config_changes:
            edit_config(paths, config_changes)
    return stage, result, data_args


@pytest.mark.parametrize("setup, config_changes, expected", CASES.values(), ids=CASES.keys())
def test_corpus(tmp_path, plain, setup, config_changes, expected):
    stage, result, data_args = run_stages(tmp_path, setup, config_changes)
    paths = Paths(SLUG, tmp_path)
    if isinstance(expected, Runs):
        assert result.returncode == 0, f"{stage}: {result.stderr}"
        for check in expected.checks:
            check(paths, plain)
        return
    assert (stage, result.returncode) == (expected.stage, 2), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"memdev {stage}: error: "), result.stderr
    for part in expected.parts:
        assert part in lines[0]
    # the stage that refused wrote nothing
    if stage == "preprocess":
        assert not paths.features.exists() and not paths.manifest.exists()
    assert not paths.config.exists() or stage == "preprocess"
    if data_args:  # a refused zip: not one of its entries unpacked
        assert not paths.raw.exists() or not any(paths.raw.iterdir())
        assert not paths.comp.exists() or [p.name for p in paths.comp.iterdir()] in ([], ["raw"])


def test_debug_shows_the_traceback_of_a_refusal(tmp_path):
    stage, result, _ = run_stages(tmp_path, files(train=target(1)), {}, debug=True)
    assert (stage, result.returncode) == ("preprocess", 2)
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("memdev preprocess: error: ")
