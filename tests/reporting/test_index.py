"""The report stage: every page written, index.md linking what there is, the studies run on request."""

import os

import pytest
import report_fakes as fakes

from memdev import cli
from memdev import config as config_io
from memdev.paths import Paths
from memdev.reporting import index
from memdev.reporting.studies import compare, groups, outliers, scorers


@pytest.fixture
def figures(monkeypatch):
    return fakes.record_figures(monkeypatch)


def test_labeled_report_writes_every_page_and_figure_and_links_them(tmp_path, figures, caplog):
    paths = Paths("fake", tmp_path)
    fakes.write_labeled(paths, fakes.labeled_config())
    fakes.write_ledger(paths)
    paths.reports.mkdir(parents=True)
    (paths.reports / "tune_history.png").write_bytes(fakes.PNG + b"stub")  # as `make tune` leaves it

    page = index.run(fakes.labeled_config(), paths)

    assert page == paths.reports / "index.md"
    expected = fakes.LABELED_FIGURES + ["cv_vs_lb.png"]
    assert set(figures) == set(expected)
    assert fakes.links(page) == {"report.md", "leaderboard.md", "tune_history.png", *expected}
    assert not list(paths.reports.glob(".*")), "no temporary files left behind"
    printed = fakes.messages(caplog)
    assert len(printed) == len(expected) + 3  # report.md, leaderboard.md, index.md
    assert all(line.startswith("report: wrote ") for line in printed)
    assert printed[-1] == f"report: wrote {page}"


def test_unlabeled_report_links_only_the_figures_it_drew(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    fakes.write_labeled(paths, fakes.labeled_config())
    fakes.write_ledger(paths, [(cv, "", sha) for cv, _, sha in fakes.LEDGER])  # no public scores: no scatter
    index.run(fakes.labeled_config(), paths)
    fakes.write_unlabeled(paths, fakes.unlabeled_config())

    page = index.run(fakes.unlabeled_config(), paths)

    assert fakes.links(page) == {"report.md", "leaderboard.md", "score_histogram.png", "memae_loss.png"}
    assert "no plots yet (`make tune COMP=fake` draws them)" in page.read_text()


def test_the_index_links_every_study_page_and_figure_there_is(tmp_path, figures):
    paths = Paths("fake", tmp_path)
    config = fakes.labeled_config().with_params({"group_column": "group"})
    fakes.write_labeled(paths, config)
    paths.reports.mkdir(parents=True)
    for name in ("groups.md", "groups.png", "outliers.md"):  # as the studies leave them
        (paths.reports / name).write_bytes(fakes.PNG if name.endswith(".png") else b"# stub\n")
    old = paths.cv.stat().st_mtime - 60
    os.utime(paths.reports / "outliers.md", (old, old))  # written before the models were trained again

    text = index.run(config, paths).read_text()

    assert f"[{groups.TITLE}](groups.md)\n" in text and "](groups.png)" in text
    assert f"[{outliers.TITLE}](outliers.md) (older than the current models: rerun `make report`)" in text
    assert "](outliers_grid.png)" not in text
    assert f"{compare.TITLE}: not run yet (`make report COMP=fake` runs every study)" in text
    assert f"{scorers.TITLE}: not run yet" in text and "](compare_auc.png)" not in text

    fakes.write_labeled(paths, fakes.labeled_config())  # trained again without a group column
    text = index.run(fakes.labeled_config(), paths).read_text()
    assert f"{groups.TITLE}: set `group_column` in {paths.config}" in text and "](groups.md)" not in text


def test_studies_run_first_and_groups_only_with_a_group_column(tmp_path, monkeypatch, caplog, figures):
    paths = Paths("fake", tmp_path)
    fakes.write_labeled(paths, fakes.labeled_config())
    ran = []
    for study in index.STUDIES:
        monkeypatch.setattr(study, "run", lambda config, paths, name=study.PAGE: ran.append(name) or [])
    paths.reports.mkdir(parents=True)
    stale = paths.reports / "groups.png"
    stale.write_bytes(fakes.PNG)

    index.run(fakes.labeled_config(), paths, studies=True)

    assert ran == ["compare.md", "outliers.md", "scorers.md"]
    assert f"groups: skipped (no group_column in {paths.config})" in fakes.messages(caplog)
    assert f"groups: removed stale {stale}" in fakes.messages(caplog) and not stale.exists()
    ran.clear()
    grouped = fakes.labeled_config().with_params({"group_column": "group"})
    fakes.write_labeled(paths, grouped)  # trained again with a group column
    index.run(grouped, paths, studies=True)
    assert ran == ["compare.md", "outliers.md", "scorers.md", "groups.md"]
    fakes.write_labeled(paths, fakes.labeled_config())
    index.run(fakes.labeled_config(), paths)
    assert ran == ["compare.md", "outliers.md", "scorers.md", "groups.md"]  # no studies unless asked


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


def test_a_study_without_what_it_needs_is_one_error_and_exit_2(tmp_path, capsys):
    paths = Paths("fake", tmp_path)
    paths.comp.mkdir(parents=True)
    config_io.save(fakes.labeled_config(), paths.config)
    assert cli.main(["groups", "--comp", "fake", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "memdev groups: error:" in err and "no group_column" in err and "Traceback" not in err
    assert cli.main(["compare", "--comp", "fake", "--root", str(tmp_path), "--epochs", "0,5"]) == 2
    assert "--epochs '0,5'" in capsys.readouterr().err
    assert cli.main(["report", "--comp", "fake", "--root", str(tmp_path)]) == 2
    assert "cv.json: no trained models" in capsys.readouterr().err
