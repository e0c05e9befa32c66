"""The leaderboard page: the submissions table, CV against public score, and the two final selections."""

import numpy as np
import pandas as pd
import pytest
import report_fakes as fakes

from memdev.paths import Paths
from memdev.reporting import leaderboard_page
from memdev.submission import ledger


@pytest.fixture
def figures(monkeypatch):
    return fakes.record_figures(monkeypatch)


def test_leaderboard_table_correlation_and_final_selections(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    fakes.write_ledger(paths)
    written = leaderboard_page.run(fakes.labeled_config(), paths)

    assert [p.name for p in written] == ["cv_vs_lb.png", "leaderboard.md"]
    assert (paths.reports / "cv_vs_lb.png").read_bytes().startswith(fakes.PNG)
    frame = leaderboard_page.submissions(paths)
    assert list(frame.index) == [1, 2, 3, 4] and (frame["competition"] == "fake").all()
    first, second, note = leaderboard_page.finals(frame)
    assert (first, second, note) == (4, 3, "")

    page = (paths.reports / "leaderboard.md").read_text()
    for k in range(1, 5):
        assert f"`s{k}.csv`" in page
    assert "x.csv" not in page  # another competition's submission
    r = np.corrcoef([0.83, 0.80, 0.82], [0.788, 0.792, 0.795])[0, 1]
    assert f"r = {r:.3f}** over 3 submissions" in page
    assert "1. **Best CV**: #4 `submissions/fake/s4.csv`" in page
    # Kaggle selects only what was uploaded: #4 has no public score and no upload on record
    assert "no public score; not uploaded: upload it to select it)" in page and "| uploaded |" in page
    assert "2. **Best CV near the top of the public LB** (best public 0.7950): #3 `submissions/fake/s3.csv`" in page
    assert fakes.links(paths.reports / "leaderboard.md") == {"cv_vs_lb.png"}
    drawn = figures["cv_vs_lb.png"]
    assert drawn["title"].startswith(f"CV against public leaderboard score: Pearson r = {r:.3f}")
    legend = " ".join(drawn["legend"])
    assert "pick 1: best CV (#4, no public score yet)" in legend and "pick 2: best CV near the top of public (#3)" in legend


def test_final_selections_never_pick_the_same_file_twice():
    frame = pd.DataFrame({"cv": [0.9, 0.8, 0.7], "public": [0.85, 0.70, 0.849], "sha256": ["a", "a", "c"]},
                         index=[1, 2, 3])
    # both rules pick #1; #2 has the same bytes; #3 is the next best CV in the public window
    assert leaderboard_page.finals(frame)[:2] == (1, 3)
    frame.loc[3, "public"] = 0.5
    first, second, note = leaderboard_page.finals(frame)
    assert (first, second) == (1, 3) and "next best CV" in note
    # no public scores yet
    frame["public"] = np.nan
    first, second, note = leaderboard_page.finals(frame)
    assert (first, second) == (1, None) and "record scores with `make lb`" in note


def test_no_public_scores_says_how_to_record_them_and_removes_an_old_scatter(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    fakes.write_ledger(paths)
    leaderboard_page.run(fakes.labeled_config(), paths)
    assert (paths.reports / "cv_vs_lb.png").exists()
    paths.ledger.unlink()
    fakes.write_ledger(paths, [(cv, "", sha) for cv, _, sha in fakes.LEDGER])

    written = leaderboard_page.run(fakes.labeled_config(), paths)

    assert [p.name for p in written] == ["leaderboard.md"]
    page = (paths.reports / "leaderboard.md").read_text()
    assert "record scores with `make lb`" in page and "Record public scores with `make lb`." in page
    assert "1. **Best CV**: #4" in page
    assert not (paths.reports / "cv_vs_lb.png").exists() and "cv_vs_lb.png" not in fakes.links(paths.reports / "leaderboard.md")


def test_no_submissions_yet(tmp_path):
    paths = Paths("fake", tmp_path)
    leaderboard_page.run(fakes.labeled_config(), paths)
    assert "No submissions of `fake`" in (paths.reports / "leaderboard.md").read_text()


def test_other_metrics_in_the_ledger_are_left_out_of_the_comparison(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    fakes.write_ledger(paths)
    ledger.append(paths.ledger, {"competition": "fake", "file": "submissions/fake/auc.csv", "sha256": "eee",
                                 "model": "memae", "cv_metric": "roc_auc", "cv_value": "0.99", "public_score": "0.70"})
    leaderboard_page.run(fakes.labeled_config(), paths)
    page = (paths.reports / "leaderboard.md").read_text()
    assert "CV values in f1, roc_auc; the correlation and the selections use only the 4 submissions measured in `f1`" in page
    assert "`auc.csv`" in page and "1. **Best CV**: #4" in page
    assert "submissions (3)" in figures["cv_vs_lb.png"]["legend"]
