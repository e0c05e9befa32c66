"""Reports: the main page, the leaderboard page, the index, and every figure they link."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from memdev import ledger, metrics, report, threshold
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.paths import Paths

PNG = b"\x89PNG\r\n\x1a\n"
LABELED_FIGURES = ["pr_curve.png", "f1_threshold.png", "score_histogram.png", "cv_folds.png", "memae_loss.png"]


def labeled_config():
    return Config(slug="fake", id_column="id", target_column="target", submission="label", regime="full", metric="f1")


def unlabeled_config():
    return Config(slug="fake", id_column="id", target_column=None, submission="label", regime="novelty", metric="f1")


def write_labeled(paths, config, rows=500, seed=0):
    """cv.json and oof.parquet of a 500-row, 10%-anomalous, separable-ish competition."""
    rng = np.random.default_rng(seed)
    y = np.zeros(rows, dtype=np.int8)
    y[rng.choice(rows, rows // 10, replace=False)] = 1
    folds = (np.arange(rows) % 5).astype(np.int8)
    memae = rng.lognormal(-3.5, 0.4, rows) * np.where(y == 1, 1.8, 1.0)
    devnet = rng.normal(0, 1, rows) + 3.0 * y
    devnet[:3] = [5e5, -7e5, 2e4]  # DevNet's deviations have extreme outliers: the plots must cope
    stack = 1 / (1 + np.exp(-(rng.normal(-3, 1.5, rows) + 4.5 * y)))
    blend = (rankdata(devnet) + rankdata(stack)) / (2 * rows)
    oof = pd.DataFrame({"fold": folds, "y": y, "memae": memae, "devnet": devnet, "stack": stack, "blend": blend})
    candidates = {}
    for name in ("memae", "devnet", "stack", "blend"):
        cut = threshold.choose(config, oof[name].to_numpy(), y)
        candidates[name] = metrics.primary("f1", y, oof[name].to_numpy(), cut.apply(oof[name].to_numpy()))
    chosen = max(candidates, key=candidates.get)
    scores = oof[chosen].to_numpy()
    cut = threshold.choose(config, scores, y)
    per_fold = []
    for k in range(5):
        rows_k = folds == k
        per_fold.append(metrics.primary("f1", y[rows_k], scores[rows_k], cut.apply(scores)[rows_k]))
    cv = {"model": chosen, "candidates": candidates, "metric": "f1", "value": candidates[chosen], "regime": "full",
          "metrics": metrics.evaluate(y, scores, cut.apply(scores)), "per_fold": per_fold, "threshold": cut.to_dict()}
    paths.models.mkdir(parents=True, exist_ok=True)
    paths.cv.write_text(json.dumps(cv))
    oof.to_parquet(paths.oof, index=False)
    return cv, oof


def write_unlabeled(paths, config, rows=400, seed=1):
    rng = np.random.default_rng(seed)
    memae = rng.lognormal(-3.5, 0.5, rows)
    oof = pd.DataFrame({"fold": (np.arange(rows) % 5).astype(np.int8), "y": np.zeros(rows, dtype=np.int8), "memae": memae})
    cut = threshold.choose(config, memae, oof["y"].to_numpy())
    cv = {"model": "memae", "candidates": {}, "metric": "f1", "value": None, "regime": "novelty",
          "threshold": cut.to_dict()}
    paths.models.mkdir(parents=True, exist_ok=True)
    paths.cv.write_text(json.dumps(cv))
    oof.to_parquet(paths.oof, index=False)
    return cv, oof


# (cv, public): #4 has the best CV but no public score yet; #3 has the best public score;
# #1 has a better CV than #3 but a public score just outside the 0.005 window; #2 is inside it.
LEDGER = [("0.83", "0.788", "aaa"), ("0.80", "0.792", "bbb"), ("0.82", "0.795", "ccc"), ("0.86", "", "ddd")]


def write_ledger(paths, rows=LEDGER):
    ledger.append(paths.ledger, {"competition": "other", "file": "submissions/other/x.csv", "cv_metric": "f1",
                                 "cv_value": "0.99", "public_score": "0.99", "sha256": "zzz"})
    for k, (cv, public, sha) in enumerate(rows, start=1):
        ledger.append(paths.ledger, {
            "time": f"2026-01-0{k}T00:00:00+00:00", "competition": paths.slug, "file": f"submissions/{paths.slug}/s{k}.csv",
            "sha256": sha, "model": "blend", "cv_metric": "f1", "cv_value": cv, "public_score": public})


@pytest.fixture
def figures(monkeypatch):
    """Record the title, axis labels and legend of every figure the report saves."""
    seen = {}
    save = report._save

    def recording(figure, path, written):
        axes = figure.axes[0]
        legends = [t.get_text() for legend in figure.legends + [a.get_legend() for a in figure.axes if a.get_legend()]
                   for t in legend.get_texts()]
        seen[path.name] = {"title": axes.get_title(), "x": axes.get_xlabel(), "y": axes.get_ylabel(), "legend": legends}
        save(figure, path, written)

    monkeypatch.setattr(report, "_save", recording)
    return seen


def links(index):
    return set(re.findall(r"\]\(([^)]+)\)", index.read_text()))


def test_labeled_report_writes_every_page_and_figure_and_links_them(tmp_path, figures, capsys):
    paths = Paths("fake", tmp_path)
    config = labeled_config()
    cv, _ = write_labeled(paths, config)
    write_ledger(paths)
    (paths.reports).mkdir(parents=True)
    (paths.reports / "tune_history.png").write_bytes(PNG + b"stub")  # as `make tune` leaves it

    index = report.run(config, paths)

    assert index == paths.reports / "index.md"
    expected = LABELED_FIGURES + ["cv_vs_lb.png"]
    for name in expected:
        data = (paths.reports / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name
        drawn = figures[name]
        assert drawn["title"] and drawn["x"] and drawn["y"], (name, drawn)
        assert drawn["legend"] and all(drawn["legend"]), (name, drawn)
    assert links(index) == {"report.md", "leaderboard.md", "tune_history.png", *expected}
    assert not list(paths.reports.glob(".*")), "no temporary files left behind"

    page = (paths.reports / "report.md").read_text()
    assert metrics.table({f"{cv['model']} (OOF)": cv["metrics"]}) in page
    assert "verdict: " + metrics.verdict(cv["metrics"]) in page
    for name, value in cv["candidates"].items():
        assert f"| {name} | {value:.4f} |" in page
    assert set(LABELED_FIGURES) <= links(paths.reports / "report.md")

    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == len(expected) + 3  # report.md, leaderboard.md, index.md
    assert all(line.startswith("report: wrote ") for line in printed)


def test_leaderboard_table_correlation_and_final_selections(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    config = labeled_config()
    write_labeled(paths, config)
    write_ledger(paths)
    report.run(config, paths)

    frame = report.submissions(paths)
    assert list(frame.index) == [1, 2, 3, 4] and (frame["competition"] == "fake").all()
    first, second, note = report.finals(frame)
    assert (first, second, note) == (4, 3, "")

    page = (paths.reports / "leaderboard.md").read_text()
    for k in range(1, 5):
        assert f"`s{k}.csv`" in page
    assert "x.csv" not in page  # another competition's submission
    r = np.corrcoef([0.83, 0.80, 0.82], [0.788, 0.792, 0.795])[0, 1]
    assert f"r = {r:.3f}** over 3 submissions" in page
    assert "1. **Best CV**: #4 `submissions/fake/s4.csv`" in page
    assert "2. **Best CV near the top of the public LB** (best public 0.7950): #3 `submissions/fake/s3.csv`" in page
    legend = " ".join(figures["cv_vs_lb.png"]["legend"])
    assert "pick 1: best CV (#4, no public score yet)" in legend and "pick 2: best CV near the top of public (#3)" in legend


def test_final_selections_never_pick_the_same_file_twice():
    frame = pd.DataFrame({"cv": [0.9, 0.8, 0.7], "public": [0.85, 0.70, 0.849], "sha256": ["a", "a", "c"]},
                         index=[1, 2, 3])
    # both rules pick #1; #2 has the same bytes; #3 is the next best CV in the public window
    assert report.finals(frame)[:2] == (1, 3)
    frame.loc[3, "public"] = 0.5
    first, second, note = report.finals(frame)
    assert (first, second) == (1, 3) and "next best CV" in note
    # no public scores yet
    frame["public"] = np.nan
    first, second, note = report.finals(frame)
    assert (first, second) == (1, None) and "record scores with `make lb`" in note


def test_no_public_scores_says_how_to_record_them(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    config = labeled_config()
    write_labeled(paths, config)
    write_ledger(paths, [(cv, "", sha) for cv, _, sha in LEDGER])
    index = report.run(config, paths)
    page = (paths.reports / "leaderboard.md").read_text()
    assert "record scores with `make lb`" in page
    assert "1. **Best CV**: #4" in page
    assert not (paths.reports / "cv_vs_lb.png").exists() and "cv_vs_lb.png" not in links(index)


def test_unlabeled_regime_skips_label_figures_but_draws_scores_and_losses(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    # a labeled run first: its label-only figures must not survive into the unlabeled report
    write_labeled(paths, labeled_config())
    report.run(labeled_config(), paths)
    config = unlabeled_config()
    cv, _ = write_unlabeled(paths, config)
    figures.clear()

    index = report.run(config, paths)

    for name in ("score_histogram.png", "memae_loss.png"):
        assert (paths.reports / name).read_bytes().startswith(PNG)
        assert any("threshold" in text for text in figures[name]["legend"]), figures[name]
    for name in ("pr_curve.png", "f1_threshold.png", "cv_folds.png", "cv_vs_lb.png"):
        assert not (paths.reports / name).exists(), name
    assert links(index) == {"report.md", "leaderboard.md", "score_histogram.png", "memae_loss.png"}
    page = (paths.reports / "report.md").read_text()
    assert "are skipped" in page and "No labels in regime `novelty`" in page
    assert f"{cv['threshold']['value']:.6g}" in page
    assert "No submissions of `fake`" in (paths.reports / "leaderboard.md").read_text()


def test_missing_cv_results_is_one_clear_error(tmp_path):
    paths = Paths("fake", tmp_path)
    with pytest.raises(MemdevError, match=r"cv.json: no CV results; run `make train COMP=fake`"):
        report.run(labeled_config(), paths)
    assert not paths.reports.exists()
