"""The main report page: report.md and every figure it links, with labels and without."""

import pytest
import report_fakes as fakes

from memdev.errors import MemdevError
from memdev.evaluation import metrics
from memdev.paths import Paths
from memdev.reporting import report


@pytest.fixture
def figures(monkeypatch):
    return fakes.record_figures(monkeypatch)


def test_labeled_report_draws_every_figure_and_links_them(tmp_path, figures, caplog):
    paths = Paths("fake", tmp_path)
    summary, _ = fakes.write_labeled(paths, fakes.labeled_config())

    written = report.run(fakes.labeled_config(), paths)

    assert [p.name for p in written] == fakes.LABELED_FIGURES + ["report.md"]
    for name in fakes.LABELED_FIGURES:
        data = (paths.reports / name).read_bytes()
        assert data.startswith(fakes.PNG) and len(data) > 5000, name
        drawn = figures[name]
        assert drawn["title"] and drawn["x"] and drawn["y"], (name, drawn)
        assert drawn["legend"] and all(drawn["legend"]), (name, drawn)
    assert not list(paths.reports.glob(".*")), "no temporary files left behind"

    page = (paths.reports / "report.md").read_text()
    assert metrics.table({"nested CV": summary.metrics}) in page
    assert "verdict: " + metrics.verdict(summary.metrics) in page
    for name, value in summary.candidates.items():
        assert f"| {name} | {value:.4f} |" in page
    assert fakes.links(paths.reports / "report.md") == set(fakes.LABELED_FIGURES)
    assert fakes.messages(caplog) == [f"report: wrote {p}" for p in written]


def test_the_loss_plot_marks_the_normal_rows_99th_percentile_when_another_model_is_chosen(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    summary, _ = fakes.write_labeled(paths, fakes.labeled_config())
    assert summary.model == "blend"
    report.run(fakes.labeled_config(), paths)
    assert any(text.startswith("99th percentile of normal rows' errors") for text in figures["memae_loss.png"]["legend"])
    page = (paths.reports / "report.md").read_text()
    assert "the 99th percentile of normal rows' errors (the chosen model is `blend`, not `memae`)" in page


def test_a_competition_judged_by_another_metric_of_labels_sees_it_against_the_threshold_at_its_own_best_cut(
        tmp_path, figures):
    paths = Paths("fake", tmp_path)
    config = fakes.labeled_config("balanced_accuracy")
    summary, _ = fakes.write_labeled(paths, config)
    report.run(config, paths)
    drawn = figures["f1_threshold.png"]
    assert drawn["title"].startswith("balanced_accuracy against threshold")
    best = next(text for text in drawn["legend"] if text.startswith("balanced_accuracy (best "))
    assert f"chosen threshold (balanced_accuracy) = {summary.threshold.value:.4g}, balanced_accuracy {best[-6:-1]}" \
        in drawn["legend"]


def test_unlabeled_regime_skips_label_figures_but_draws_scores_and_losses(tmp_path, figures, caplog):
    paths = Paths("fake", tmp_path)
    # a labeled run first: its label-only figures must not survive into the unlabeled report
    fakes.write_labeled(paths, fakes.labeled_config())
    report.run(fakes.labeled_config(), paths)
    config = fakes.unlabeled_config()
    summary, _ = fakes.write_unlabeled(paths, config)
    figures.clear()
    caplog.clear()

    written = report.run(config, paths)

    assert [p.name for p in written] == ["score_histogram.png", "memae_loss.png", "report.md"]
    for name in ("score_histogram.png", "memae_loss.png"):
        assert (paths.reports / name).read_bytes().startswith(fakes.PNG)
        assert any("threshold" in text for text in figures[name]["legend"]), figures[name]
    for name in ("pr_curve.png", "f1_threshold.png", "cv_folds.png"):
        assert not (paths.reports / name).exists(), name
        assert f"report: removed stale {paths.reports / name}" in fakes.messages(caplog)
    page = (paths.reports / "report.md").read_text()
    assert fakes.links(paths.reports / "report.md") == {"score_histogram.png", "memae_loss.png"}
    assert "are skipped" in page and "No labels in regime `novelty`" in page
    assert f"{summary.threshold.value:.6g}" in page
    assert summary.threshold.strategy == "quantile"  # novelty's default: a value, carried through the fold models
    assert "the share of test rows the fold models' own scores reach with that value" in page


def test_missing_cv_results_is_one_clear_error(tmp_path):
    paths = Paths("fake", tmp_path)
    with pytest.raises(MemdevError, match=r"cv.json: no trained models; run `make train COMP=fake`"):
        report.run(fakes.labeled_config(), paths)
    assert not paths.reports.exists()


def test_out_of_fold_scores_without_the_chosen_model_are_one_clear_error(tmp_path):
    paths = Paths("fake", tmp_path)
    summary, oof = fakes.write_labeled(paths, fakes.labeled_config())
    oof.drop(columns=[summary.model]).to_parquet(paths.oof, index=False)
    with pytest.raises(MemdevError, match=rf"oof.parquet: has no column '{summary.model}'"):
        report.run(fakes.labeled_config(), paths)
