"""The preprocess stage: one clear error per kind of bad file, nothing written destroyed;
and the awkward-but-valid files real competitions ship all work."""

import dataclasses
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from conftest import labeled_frames, snapshot
from memdev.errors import MemdevError
from memdev.features import preprocess
from memdev.ingest import schema


def run(paths):
    config = schema.detect(paths)
    preprocess.run(config, paths)
    return np.load(paths.x_train), np.load(paths.x_test), np.load(paths.y_train)


def features_json(paths):
    return json.loads((paths.features / "features.json").read_text())


@pytest.fixture
def preprocessed(competition):
    """A good competition, preprocessed once: its feature files must survive every bad re-run."""
    paths = competition()
    config = schema.detect(paths)
    preprocess.run(config, paths)
    return paths, config


def rewrite(path, change):
    """Rewrite a raw CSV through ``change(frame) -> frame``."""
    change(pd.read_csv(path)).to_csv(path, index=False)


def set_cell(column, row, value):
    def change(frame):
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return frame
    return change


# Each case: what to do to the raw files, then what the error must name.
BAD_INPUT = {
    "missing train": (lambda p: p.train_csv.unlink(), ["train.csv", "file is missing"]),
    "missing test": (lambda p: p.test_csv.unlink(), ["test.csv", "file is missing"]),
    "missing sample": (lambda p: p.sample_csv.unlink(), ["sample_submission.csv", "file is missing"]),
    "empty train": (lambda p: p.train_csv.write_text(""), ["train.csv", "file is empty"]),
    "empty test": (lambda p: p.test_csv.write_text(""), ["test.csv", "file is empty"]),
    "blank header": (lambda p: p.test_csv.write_text("\n1,2,3\n"), ["test.csv", "header"]),
    "header-only train": (lambda p: p.train_csv.write_text("id,x1,x2,colour,target\n"), ["train.csv", "has 0 rows"]),
    "header-only test": (lambda p: p.test_csv.write_text("id,x1,x2,colour\n"), ["test.csv", "no rows"]),
    "test lacks the id column": (lambda p: rewrite(p.test_csv, lambda f: f.rename(columns={"id": "ident"})),
                                 ["test.csv", "no id column 'id'"]),
    "sample id not in test": (lambda p: rewrite(p.sample_csv, set_cell("id", 3, 999)),
                              ["sample_submission.csv", "id '999' is not in test.csv"]),
    "test id not in sample": (lambda p: rewrite(p.sample_csv, lambda f: f.drop(index=0)),
                              ["test.csv", "id '160' is not in sample_submission.csv"]),
    "duplicate test ids": (lambda p: rewrite(p.test_csv, set_cell("id", 1, 160)),
                           ["test.csv", "id '160' appears more than once in column 'id'"]),
    "duplicate header": (lambda p: p.train_csv.write_text("id,x1,x1,target\n1,2,3,0\n"), ["train.csv", "column 'x1' appears more than once"]),
    "no column the test table holds too": (lambda p: rewrite(p.test_csv, lambda f: f[["id"]].assign(other=1.0)),
                                           ["train.csv", "no feature columns besides id and target that test.csv holds"]),
    "inf in train": (lambda p: rewrite(p.train_csv, set_cell("x1", 5, "inf")), ["train.csv", "column 'x1' has inf at row 7"]),
    "-inf in test": (lambda p: rewrite(p.test_csv, set_cell("x2", 2, "-inf")), ["test.csv", "column 'x2' has -inf at row 4"]),
    "text in a numeric train column": (lambda p: rewrite(p.train_csv, set_cell("x1", 10, "#REF!")),
                                       ["train.csv", "column 'x1' holds numbers but '#REF!' at row 12"]),
    "text in a numeric test column": (lambda p: rewrite(p.test_csv, set_cell("x2", 4, "12 kg")),
                                      ["test.csv", "column 'x2' is numeric in train.csv but has '12 kg' at row 6"]),
    "yes/no target": (lambda p: rewrite(p.train_csv, lambda f: f.assign(target=np.where(f["target"] == 1, "yes", "no"))),
                      ["train.csv", "'target'", "label_map"]),
}


@pytest.mark.parametrize("damage, expected", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_one_clear_error_and_written_features_survive(preprocessed, damage, expected):
    paths, config = preprocessed
    before = snapshot(paths.comp / "features")
    manifest = paths.manifest.read_bytes()
    damage(paths)
    with pytest.raises(MemdevError) as info:
        preprocess.run(config, paths)
    message = str(info.value)
    for part in expected:
        assert part in message, message
    assert snapshot(paths.comp / "features") == before
    assert paths.manifest.read_bytes() == manifest


def test_the_cli_reports_bad_input_in_one_line_with_a_nonzero_exit(preprocessed, capsys):
    from memdev import cli

    paths, config = preprocessed
    from memdev import config as config_io

    config_io.save(config, paths.config)
    paths.test_csv.unlink()
    assert cli.main(["preprocess", "--comp", paths.slug, "--root", str(paths.root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("memdev preprocess: error:") and "test.csv: file is missing" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# --- good input ---------------------------------------------------------------


def test_features_are_finite_float32_and_labels_match_the_target(competition):
    paths = competition()
    x_train, x_test, y = run(paths)
    assert x_train.dtype == x_test.dtype == np.float32
    assert np.isfinite(x_train).all() and np.isfinite(x_test).all()
    assert x_train.shape == (60, 4) and x_test.shape == (20, 4)  # x1, x2, colour=red, colour=blue
    assert y.tolist() == labeled_frames()[0]["target"].tolist()
    assert pd.read_parquet(paths.test_ids)["id"].tolist() == [str(i) for i in range(160, 180)]


def test_columns_of_one_table_only_or_entirely_empty_are_left_out_and_named(competition, caplog):
    """Kaggle's train tables often hold columns the test rows cannot supply: no feature can use them."""
    train, test, sample = labeled_frames()
    train = train.assign(outcome_code=1.0, x2=np.nan)  # a train-only column; x2 empty in train
    test = test.assign(batch=3)  # a test-only column
    x_train, x_test, _ = run(competition(train, test, sample))
    assert x_train.shape == (60, 3) and x_test.shape == (20, 3)  # x1, colour=red, colour=blue
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("preprocess: left out")]
    assert said == ["preprocess: left out 1 column only in train.csv: 'outcome_code'",
                    "preprocess: left out 1 column only in test.csv: 'batch'",
                    "preprocess: left out 1 column entirely empty in train.csv: 'x2'"]


def test_a_categorical_column_with_more_levels_than_one_hot_keeps_also_gets_how_common_each_level_is(competition):
    train, test, sample = labeled_frames()
    train = train.assign(merchant=["m0"] * 10 + [f"m{i}" for i in range(1, preprocess.MAX_LEVELS + 1)])  # 51 levels
    paths = competition(train, test.assign(merchant="m0"), sample)
    x_train, x_test, _ = run(paths)
    names = list(pickle.loads(paths.transformer.read_bytes()).get_feature_names_out())
    assert names[-1] == "merchant_frequency" and x_train.shape[1] == len(names)
    assert (x_train[10:, -1] == 0).all() and (x_test[:, -1] == x_train[0, -1]).all() and x_train[0, -1] > 0


def test_a_category_seen_only_in_test_is_tolerated(competition):
    train, test, sample = labeled_frames()
    test.loc[:4, "colour"] = "green"
    x_train, x_test, _ = run(competition(train, test, sample))
    assert x_test.shape[1] == x_train.shape[1] and np.isfinite(x_test).all()
    assert (x_test[:5, 2:] == 0).all()  # an unseen level is no known level


def test_column_names_with_dots_spaces_and_unicode_work(competition):
    names = {"x1": "temp.max", "x2": "heart rate", "colour": "Farbe (ü, 色)"}
    train, test, sample = (f.rename(columns=names) for f in labeled_frames())
    paths = competition(train, test, sample)
    x_train, _, _ = run(paths)
    info = features_json(paths)
    assert info["numeric"] == ["temp.max", "heart rate"] and info["categorical"] == ["Farbe (ü, 色)"]
    assert x_train.shape == (60, 4)


def test_constant_columns_are_dropped(competition):
    train, test, sample = labeled_frames()
    train, test = (f.assign(always=7.0, same="same") for f in (train, test))
    x_train, x_test, _ = run(competition(train, test, sample))
    assert x_train.shape[1] == x_test.shape[1] == 4
    assert (x_train.std(axis=0) > 0).all()


def test_missing_numbers_are_imputed_with_an_indicator(competition):
    train, test, sample = labeled_frames()
    train.loc[[1, 2, 3], "x1"] = np.nan
    test.loc[[0], "x1"] = np.nan
    x_train, x_test, _ = run(competition(train, test, sample))
    assert x_train.shape[1] == 5 and np.isfinite(x_test).all()


def test_semicolon_separated_files_give_the_same_features(competition, tmp_path):
    comma = run(competition(slug="comma"))
    semicolon = run(competition(slug="semicolon", sep=";"))
    assert open(tmp_path / "data" / "semicolon" / "raw" / "train.csv").readline().count(";") == 4
    for a, b in zip(comma, semicolon):
        np.testing.assert_array_equal(a, b)


def test_a_byte_order_mark_and_windows_line_ends_give_the_same_features(competition, tmp_path):
    plain = run(competition(slug="plain"))
    paths = competition(slug="windows", encoding="utf-8-sig", lineterminator="\r\n")
    assert paths.train_csv.read_bytes().startswith(b"\xef\xbb\xbfid,") and b"\r\n" in paths.test_csv.read_bytes()
    windows = run(paths)
    assert schema.detect(paths).id_column == "id"
    for a, b in zip(plain, windows):
        np.testing.assert_array_equal(a, b)


def test_ids_keep_their_exact_text(competition):
    train, test, sample = labeled_frames()
    test["id"] = sample["id"] = [f"{i:05d}" for i in range(20)]
    paths = competition(train, test, sample)
    run(paths)
    assert pd.read_parquet(paths.test_ids)["id"].tolist()[:2] == ["00000", "00001"]


def test_parquet_tables_or_a_mix_give_the_csv_features_in_memory_and_in_chunks(competition, monkeypatch):
    expected = run(competition(slug="csv"))
    paths = competition(slug="parquet")
    for csv in (paths.train_csv, paths.test_csv):  # the sample stays CSV, as on Kaggle
        pd.read_csv(csv).to_parquet(csv.with_suffix(".parquet"), index=False)
        csv.unlink()
    config = schema.detect(paths)
    monkeypatch.setattr(preprocess, "CHUNK_BYTES", 256)  # many chunks
    for chunked_from_mb in (256, 0):
        preprocess.run(dataclasses.replace(config, chunked_from_mb=chunked_from_mb), paths)
        for path, array in zip((paths.x_train, paths.x_test, paths.y_train), expected):
            np.testing.assert_array_equal(np.load(path), array)
        assert pd.read_parquet(paths.test_ids)["id"].tolist() == [str(i) for i in range(160, 180)]


def test_a_bad_cell_in_a_parquet_table_is_named_as_in_a_csv(competition):
    train, test, sample = labeled_frames()
    test["x1"] = test["x1"].where(test.index != 2, np.inf)
    paths = competition(train, test, sample)
    test.to_parquet(paths.test_csv.with_suffix(".parquet"), index=False)
    with pytest.raises(MemdevError, match="test.parquet: column 'x1' has inf at row 4"):
        run(paths)
