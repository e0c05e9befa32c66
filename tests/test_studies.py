"""The founding studies on a tiny competition: files, tables, and results that could fail."""

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from memdev import cli, finetune, manifest, preprocess, pretrain, report, studies
from memdev.config import MemAEConfig
from memdev.errors import MemdevError
from memdev.paths import Paths

from conftest import fast_config, write_competition

PNG = b"\x89PNG\r\n\x1a\n"
ROWS, TEST_ROWS, ANOMALIES = 300, 100, 30


def frames(seed: int = 0, labeled: bool = True):
    """15 numeric columns plus a 4-level `group` column: 16 features, a 4x4 'image'.

    Every tenth row is an anomaly, shifted by +3 in every numeric column;
    anomalies sit in group 3, normal rows in groups 0 to 3 alike.
    """
    rng = np.random.default_rng(seed)
    n = ROWS + TEST_ROWS
    target = (np.arange(n) % 10 == 0).astype(int)
    values = rng.normal(size=(n, 15)) + 3.0 * target[:, None]
    frame = pd.DataFrame(values.round(4), columns=[f"x{i}" for i in range(15)])
    frame.insert(0, "id", np.arange(n) + 5000)
    frame["group"] = np.where(target == 1, 3, rng.integers(0, 4, n))
    train = frame.iloc[:ROWS].reset_index(drop=True)
    if labeled:
        train = train.assign(target=target[:ROWS])
    test = frame.iloc[ROWS:].reset_index(drop=True)
    return train, test, pd.DataFrame({"id": test["id"], "target": 0})


def study_config(epochs: int = 25, **overrides):
    return fast_config(
        folds=3,
        memae=MemAEConfig(hidden=[16], latent=4, memory_size=10, epochs=epochs, batch_size=32, patience=5),
        **overrides,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A labeled competition taken through preprocess, pretrain and finetune (3 folds)."""
    paths = write_competition(Paths("toy", tmp_path_factory.mktemp("studies")), *frames())
    config = study_config()
    preprocess.run(config, paths)
    pretrain.run(config, paths, verbose=0)
    finetune.run(config, paths)
    return config, paths


@pytest.fixture(scope="module")
def unlabeled(tmp_path_factory):
    """The same rows without a target column (a novelty competition), trained."""
    paths = write_competition(Paths("plain", tmp_path_factory.mktemp("studies")), *frames(seed=1, labeled=False))
    config = study_config(epochs=5, target_column=None, regime="novelty")
    preprocess.run(config, paths)
    pretrain.run(config, paths, verbose=0)
    finetune.run(config, paths)
    return config, paths


def assert_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_image_layout_follows_the_transformer_columns():
    inputs = [f"pixel{i}" for i in range(64)]
    kept = [name for name in inputs if name not in ("pixel0", "pixel32", "pixel39")]
    side, pixel, columns = studies.image_layout(kept, inputs)
    assert side == 8 and len(pixel) == 61 and pixel[0] == 1 and pixel[31] == 33 and columns == inputs
    side, pixel, _ = studies.image_layout([f"x{i}" for i in range(16)], [])
    assert side == 4 and pixel.tolist() == list(range(16))
    assert studies.image_layout([f"x{i}" for i in range(15)], []) is None
    assert studies.image_layout([f"x{i}" for i in range(9)], []) is None  # 3x3 is too small to convolve


def test_compare_trains_four_architectures_on_each_epoch_budget(trained, capsys):
    config, paths = trained
    written = studies.compare(config, paths)
    names = sorted(p.name for p in written)
    assert names == ["compare.csv", "compare.md", "compare_auc.png", "compare_loss.png"]
    assert capsys.readouterr().out.count("compare: wrote") == 4
    for name in ("compare_auc.png", "compare_loss.png"):
        assert_png(paths.reports / name)
    table = pd.read_csv(paths.reports / "compare.csv")
    assert len(table) == 12
    assert sorted(set(table["model"])) == ["conv", "deep", "memae", "plain"]
    assert table.groupby("model")["epochs"].apply(list).map(lambda e: e == [1, 5, 10]).all()
    assert "conv2d AE (4x4 image)" in set(table["label"])  # 16 features: the 2-D convolution
    memae = table[(table["model"] == "memae") & (table["epochs"] == 10)].iloc[0]
    assert memae["auc_roc"] > 0.8 and memae["auc_pr"] > 0.5  # prevalence 0.1: far above chance
    page = (paths.reports / "compare.md").read_text()
    assert "2 of 3 folds" in page and "![" in page and page.count("| MemAE") == 3


def test_compare_without_labels_says_so_and_skips(unlabeled):
    config, paths = unlabeled
    paths.reports.mkdir(parents=True, exist_ok=True)
    stale = paths.reports / "compare_auc.png"
    stale.write_bytes(PNG)
    written = studies.compare(config, paths)
    assert [p.name for p in written] == ["compare.md"]
    assert "no ground truth" in (paths.reports / "compare.md").read_text()
    assert not stale.exists()


def test_outliers_rank_the_shifted_rows_first_with_their_features(trained):
    config, paths = trained
    written = studies.outliers(config, paths, k=20)
    assert sorted(p.name for p in written) == ["outliers.csv", "outliers.md", "outliers_grid.png"]
    assert_png(paths.reports / "outliers_grid.png")
    top = pd.read_csv(paths.reports / "outliers.csv")
    assert len(top) == 20 and top["rank"].tolist() == list(range(1, 21))
    assert top["score"].is_monotonic_decreasing
    assert top["label"].sum() >= 18  # 30 shifted anomalies among 300 rows
    train = pd.read_csv(paths.train_csv)
    assert (train["id"].iloc[top["row"]].to_numpy() == top["id"].to_numpy()).all()
    features = {f"x{i}" for i in range(15)} | {"group"}
    assert set(top["feature_1"]) <= features and (top["share_1"] >= top["share_2"]).all()
    row = top.iloc[0]
    assert row["value_1"] == pytest.approx(train.at[row["row"], row["feature_1"]])
    assert "out-of-fold" in (paths.reports / "outliers.md").read_text()


def test_outliers_without_labels_rank_every_row_as_a_candidate(unlabeled):
    config, paths = unlabeled
    written = studies.outliers(config, paths, k=5)
    top = pd.read_csv(paths.reports / "outliers.csv")
    assert len(top) == 5 and top["label"].isna().all() and top["score"].is_monotonic_decreasing
    assert "no labels" in (paths.reports / "outliers.md").read_text()
    assert paths.reports / "outliers_grid.png" in written


def test_scorers_without_labels_give_the_share_each_threshold_flags(unlabeled):
    config, paths = unlabeled
    studies.scorers(config, paths)
    table = pd.read_csv(paths.reports / "scorers.csv").set_index("scorer")
    assert "DevNet deviation" not in table.index and "auc_roc" not in table.columns
    # the 99th percentile of the rows' own scores flags about 1% of them
    assert table["flagged p99 normal"].between(0.005, 0.02).all()
    assert_png(paths.reports / "scorers_hist.png")


def test_scorers_compare_four_scores_out_of_fold(trained):
    config, paths = trained
    written = studies.scorers(config, paths)
    assert sorted(p.name for p in written) == ["scorers.csv", "scorers.md", "scorers_hist.png"]
    assert_png(paths.reports / "scorers_hist.png")
    table = pd.read_csv(paths.reports / "scorers.csv").set_index("scorer")
    assert list(table.index) == ["reconstruction error", "nearest-centroid distance in latent space",
                                 "memory-addressing entropy", "DevNet deviation"]
    assert table.at["reconstruction error", "auc_roc"] > 0.8
    assert ((table[["auc_roc", "auc_pr"]] >= 0) & (table[["auc_roc", "auc_pr"]] <= 1)).all().all()
    assert table.at["DevNet deviation", "auc_roc"] > 0.6  # the head saw the labels, out of fold


def test_groups_report_detection_per_group(trained):
    config, paths = trained
    written = studies.groups(config, paths, "group")
    assert sorted(p.name for p in written) == ["groups.csv", "groups.md", "groups.png"]
    assert_png(paths.reports / "groups.png")
    table = pd.read_csv(paths.reports / "groups.csv", dtype={"group": str}).set_index("group")
    assert list(table.index) == ["0", "1", "2", "3", "all rows"]
    assert table["rows"].iloc[:4].sum() == table.at["all rows", "rows"] == ROWS
    assert table.at["3", "labeled anomalies"] == ANOMALIES and table.loc[["0", "1", "2"], "labeled anomalies"].sum() == 0
    assert table.at["3", "share flagged"] > 0.2 > table.at["0", "share flagged"]
    assert table.at["3", "recall"] > 0.5 and np.isnan(table.at["0", "recall"])
    # max normal + margin: no row labeled normal can reach it out of fold
    assert table.at["all rows", "normals flagged"] == 0 and table.at["all rows", "precision"] == 1
    page = (paths.reports / "groups.md").read_text()
    assert "max_normal" in page and "also an input feature" in page


def test_groups_refuse_a_missing_or_non_categorical_column(trained):
    config, paths = trained
    with pytest.raises(MemdevError, match=r"train\.csv: has no column 'digit'"):
        studies.groups(config, paths, "digit")
    with pytest.raises(MemdevError, match=r"column 'x0' has \d+ distinct values"):
        studies.groups(config, paths, "x0")


def test_studies_refuse_models_of_other_features_or_none_at_all(trained, tmp_path):
    """Fold MemAEs pretrained on other features must not score these rows."""
    config, paths = trained
    copy = Paths("toy", tmp_path)
    shutil.copytree(paths.comp, copy.comp)
    X = np.load(copy.x_train)
    np.save(copy.x_train, X + 1.0)  # features changed after training (the manifest is updated to match)
    manifest.record(copy, [copy.x_train])
    with pytest.raises(MemdevError, match=r"cv\.json: the models were trained on other features.*make train COMP=toy"):
        studies.outliers(config, copy, k=5)
    shutil.rmtree(copy.models)
    with pytest.raises(MemdevError, match=r"no trained models; run `make train COMP=toy` first"):
        studies.scorers(config, copy)


def test_the_group_column_is_never_a_feature(tmp_path):
    paths = write_competition(Paths("toy", tmp_path), *frames())
    preprocess.run(study_config(group_column="group"), paths)
    info = json.loads((paths.features / "features.json").read_text())
    assert "group" not in info["numeric"] + info["categorical"] and info["features"] == 15


def test_the_config_picks_the_scorers_compared(trained, tmp_path):
    config, paths = trained
    copy = Paths("toy", tmp_path)
    shutil.copytree(paths.comp, copy.comp)
    studies.scorers(dataclasses.replace(config, scorers=["latent_distance", "devnet"]), copy)
    table = pd.read_csv(copy.reports / "scorers.csv")
    assert table["scorer"].tolist() == ["nearest-centroid distance in latent space", "DevNet deviation"]
    with pytest.raises(MemdevError, match="scorers has 'mse'"):
        dataclasses.replace(config, scorers=["mse"])


def test_the_index_links_every_study_page_and_figure_there_is(trained, tmp_path):
    config, paths = trained
    copy = Paths("toy", tmp_path)
    shutil.copytree(paths.comp, copy.comp)
    shutil.rmtree(copy.reports, ignore_errors=True)
    config = dataclasses.replace(config, group_column="group")
    studies.groups(config, copy)
    index = report.run(config, copy).read_text()
    assert "[Per-group detection with the max-normal + margin threshold](groups.md)" in index
    assert "](groups.png)" in index
    assert "Architecture comparison: plain, deep, convolutional autoencoders and MemAE by epoch budget: not run yet" in index
    assert "](compare_auc.png)" not in index
    index = report.run(dataclasses.replace(config, group_column=None), copy).read_text()
    assert "set `group_column`" in index and "](groups.md)" not in index


@pytest.mark.parametrize("stage, options", [
    ("compare", ["--epochs", "--folds"]), ("outliers", ["--top"]), ("scorers", []), ("groups", ["--column"]),
    ("report", ["--studies"]),
])
def test_every_study_is_a_cli_stage_with_its_options_in_help(stage, options, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main([stage, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert all(option in text for option in ["--comp", *options])


def test_a_study_without_what_it_needs_is_one_error_and_exit_2(trained, tmp_path, capsys):
    config, paths = trained
    copy = Paths("toy", tmp_path)
    shutil.copytree(paths.comp, copy.comp)
    from memdev import config as config_io

    config_io.save(config, copy.config)
    assert cli.main(["groups", "--comp", "toy", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "memdev groups: error:" in err and "no group_column" in err and "Traceback" not in err
    assert cli.main(["compare", "--comp", "toy", "--root", str(tmp_path), "--epochs", "0,5"]) == 2
    assert "--epochs '0,5'" in capsys.readouterr().err
