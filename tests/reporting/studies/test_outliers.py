"""Study 2: training rows ranked by out-of-fold MemAE error, with the features behind each."""

import pandas as pd
import pytest
import trained_toy

from memdev.reporting.studies import outliers


def test_outliers_rank_the_shifted_rows_first_with_their_features(tmp_path_factory):
    config, paths = trained_toy.labeled(tmp_path_factory)
    written = outliers.run(config, paths, k=20)
    assert sorted(p.name for p in written) == ["outliers.csv", "outliers.md", "outliers_grid.png"]
    trained_toy.assert_png(paths.reports / "outliers_grid.png")
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
    page = (paths.reports / "outliers.md").read_text()
    assert "out-of-fold" in page and "](outliers_grid.png)" in page
    assert f"Of the top 20, {int(top['label'].sum())} are labeled anomalous" in page


def test_outliers_without_labels_rank_every_row_as_a_candidate(tmp_path_factory):
    config, paths = trained_toy.unlabeled(tmp_path_factory)
    written = outliers.run(config, paths, k=5)
    top = pd.read_csv(paths.reports / "outliers.csv")
    assert len(top) == 5 and top["label"].isna().all() and top["score"].is_monotonic_decreasing
    assert "no labels" in (paths.reports / "outliers.md").read_text()
    assert paths.reports / "outliers_grid.png" in written
