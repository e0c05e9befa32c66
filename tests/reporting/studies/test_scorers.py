"""Study 3: reconstruction error, latent distance, addressing entropy and DevNet, out of fold."""

import dataclasses

import pandas as pd
import pytest
import trained_toy

from memdev.errors import MemdevError
from memdev.reporting.studies import scorers


def test_scorers_without_labels_give_the_share_each_threshold_flags(tmp_path_factory):
    config, paths = trained_toy.unlabeled(tmp_path_factory)
    scorers.run(config, paths)
    table = pd.read_csv(paths.reports / "scorers.csv").set_index("scorer")
    assert "DevNet deviation" not in table.index and "auc_roc" not in table.columns
    # the 99th percentile of the rows' own scores flags about 1% of them
    assert table["flagged p99 normal"].between(0.005, 0.02).all()
    trained_toy.assert_png(paths.reports / "scorers_hist.png")
    assert "(not available: DevNet needs labeled anomalies)" in (paths.reports / "scorers.md").read_text()


def test_scorers_compare_four_scores_out_of_fold(tmp_path_factory):
    config, paths = trained_toy.labeled(tmp_path_factory)
    written = scorers.run(config, paths)
    assert sorted(p.name for p in written) == ["scorers.csv", "scorers.md", "scorers_hist.png"]
    trained_toy.assert_png(paths.reports / "scorers_hist.png")
    table = pd.read_csv(paths.reports / "scorers.csv").set_index("scorer")
    assert list(table.index) == ["reconstruction error", "nearest-centroid distance in latent space",
                                 "memory-addressing entropy", "DevNet deviation"]
    assert table.at["reconstruction error", "auc_roc"] > 0.8
    assert ((table[["auc_roc", "auc_pr"]] >= 0) & (table[["auc_roc", "auc_pr"]] <= 1)).all().all()
    # anomalies sit 3 standard deviations off in every column: a head trained on their labels (200 steps)
    # ranks them all first, out of fold; one that measured its initial weights would not
    assert table.at["DevNet deviation", "auc_roc"] > 0.95 and table.at["DevNet deviation", "auc_pr"] > 0.9
    best = table["auc_pr"].idxmax()
    assert f"Best by AUC-PR: **{best}** ({table.at[best, 'auc_pr']:.3f})" in (paths.reports / "scorers.md").read_text()


def test_the_config_picks_the_scorers_compared(tmp_path_factory, tmp_path):
    config, paths = trained_toy.labeled(tmp_path_factory)
    copy = trained_toy.copy(paths, tmp_path)
    scorers.run(dataclasses.replace(config, scorers=["latent_distance", "devnet"]), copy)
    table = pd.read_csv(copy.reports / "scorers.csv")
    assert table["scorer"].tolist() == ["nearest-centroid distance in latent space", "DevNet deviation"]
    with pytest.raises(MemdevError, match="scorers has 'mse'"):
        dataclasses.replace(config, scorers=["mse"])
