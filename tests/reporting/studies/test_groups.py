"""Study 4: detection per group of train.csv at the max-normal + margin threshold."""

import json

import numpy as np
import pandas as pd
import pytest
import trained_toy

from conftest import write_competition
from memdev.errors import MemdevError
from memdev.features import preprocess
from memdev.paths import Paths
from memdev.reporting.studies import groups


def test_groups_report_detection_per_group(tmp_path_factory):
    config, paths = trained_toy.labeled(tmp_path_factory)
    written = groups.run(config, paths, "group")
    assert sorted(p.name for p in written) == ["groups.csv", "groups.md", "groups.png"]
    trained_toy.assert_png(paths.reports / "groups.png")
    table = pd.read_csv(paths.reports / "groups.csv", dtype={"group": str}).set_index("group")
    assert list(table.index) == ["0", "1", "2", "3", "all rows"]
    assert table["rows"].iloc[:4].sum() == table.at["all rows", "rows"] == trained_toy.ROWS
    assert (table.at["3", "labeled anomalies"] == trained_toy.ANOMALIES
            and table.loc[["0", "1", "2"], "labeled anomalies"].sum() == 0)
    assert table.at["3", "share flagged"] > 0.2 > table.at["0", "share flagged"]
    assert table.at["3", "recall"] > 0.5 and np.isnan(table.at["0", "recall"])
    # max normal + margin: no row labeled normal can reach it out of fold
    assert table.at["all rows", "normals flagged"] == 0 and table.at["all rows", "precision"] == 1
    page = (paths.reports / "groups.md").read_text()
    assert "max_normal" in page and "also an input feature" in page and "| **all rows** |" in page


def test_groups_without_labels_flag_nothing_in_train_by_construction(tmp_path_factory):
    config, paths = trained_toy.unlabeled(tmp_path_factory)
    groups.run(config, paths, "group")
    table = pd.read_csv(paths.reports / "groups.csv", dtype={"group": str}).set_index("group")
    assert table["flagged"].sum() == 0 and table["precision"].isna().all()
    assert "No labeled anomalies: precision and recall are blank" in (paths.reports / "groups.md").read_text()


def test_groups_refuse_a_missing_or_non_categorical_column(tmp_path_factory):
    config, paths = trained_toy.labeled(tmp_path_factory)
    with pytest.raises(MemdevError, match=r"no group_column to group by"):
        groups.run(config, paths)
    with pytest.raises(MemdevError, match=r"train\.csv: has no column 'digit'"):
        groups.run(config, paths, "digit")
    with pytest.raises(MemdevError, match=r"column 'x0' has \d+ distinct values"):
        groups.run(config, paths, "x0")


def test_the_group_column_is_never_a_feature(tmp_path):
    paths = write_competition(Paths("toy", tmp_path), *trained_toy.frames())
    preprocess.run(trained_toy.study_config(group_column="group"), paths)
    info = json.loads((paths.features / "features.json").read_text())
    assert "group" not in info["numeric"] + info["categorical"] and info["features"] == 15
