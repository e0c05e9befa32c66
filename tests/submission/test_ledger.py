"""The submissions ledger: rows, scores from Kaggle or by hand, and submission diffs."""

import pandas as pd
import pytest

from conftest import fast_config
from memdev import cli
from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.paths import Paths
from memdev.submission import ledger


def _ledger_with(paths, *files, cv_metric="f1"):
    for name in files:
        ledger.append(paths.ledger, {"competition": paths.slug, "file": f"submissions/{paths.slug}/{name}",
                                     "cv_metric": cv_metric, "cv_value": "0.8"})


def _config(paths, metric):
    kind = "label" if metric in config_io.LABEL_METRICS else "score"
    config_io.save(fast_config(paths.slug, metric=metric, submission=kind), paths.config)


def test_append_keeps_earlier_rows_and_all_columns(tmp_path):
    paths = Paths("demo", tmp_path)
    _ledger_with(paths, "a.csv", "b.csv")
    frame = ledger.read(paths.ledger)
    assert list(frame.columns) == ledger.COLUMNS
    assert frame["file"].str.endswith(("a.csv", "b.csv")).all() and len(frame) == 2


def test_sync_fills_public_scores_by_file_name(stub_kaggle, tmp_path):
    paths = Paths("demo", tmp_path)
    _ledger_with(paths, "a.csv", "b.csv")
    assert ledger.sync(paths) == 1
    frame = ledger.read(paths.ledger)
    assert frame["public_score"].tolist() == ["0.81234", ""]
    assert "competitions submissions demo --csv" in stub_kaggle.read_text()


def test_a_score_recorded_by_hand_lands_on_its_row(tmp_path):
    paths = Paths("demo", tmp_path)
    _ledger_with(paths, "a.csv", "b.csv")
    ledger.set_fields(paths.ledger, "demo", "b.csv", public_score="0.7")
    assert ledger.read(paths.ledger)["public_score"].tolist() == ["", "0.7"]
    with pytest.raises(MemdevError, match="no submission of demo named 'c.csv'"):
        ledger.set_fields(paths.ledger, "demo", "c.csv", public_score="0.7")


def test_a_score_typed_by_hand_must_be_a_number_its_metric_can_give():
    assert ledger.hand_score("0.81", "f1") == "0.81" and ledger.hand_score(" 1 ", "roc_auc") == "1"
    assert ledger.hand_score("-0.5", "mcc") == "-0.5"
    for text in ("abc", "", "nan", "inf"):
        with pytest.raises(MemdevError, match=f"score {text!r} is not a number"):
            ledger.hand_score(text, "f1")
    with pytest.raises(MemdevError, match="score 1.7 is out of range for f1: f1 lies between 0 and 1"):
        ledger.hand_score("1.7", "f1")
    with pytest.raises(MemdevError, match="score -0.1 is out of range for average_precision"):
        ledger.hand_score("-0.1", "average_precision")
    with pytest.raises(MemdevError, match="score -1.5 is out of range for mcc: mcc lies between -1 and 1"):
        ledger.hand_score("-1.5", "mcc")
    assert ledger.hand_score("12.5", None) == "12.5"  # no config, no metric: any number


def test_a_file_of_another_competition_is_refused_naming_both_and_its_row_is_left_alone(tmp_path):
    demo, cardio = Paths("demo", tmp_path), Paths("cardio", tmp_path)
    _ledger_with(cardio, "a.csv")
    _ledger_with(demo, "b.csv")
    with pytest.raises(MemdevError, match="^submissions/cardio/a.csv is a submission of cardio, not of demo$"):
        ledger.set_fields(demo.ledger, "demo", "submissions/cardio/a.csv", public_score="0.5")
    with pytest.raises(MemdevError, match="^a.csv is a submission of cardio, not of demo$"):
        ledger.set_fields(demo.ledger, "demo", "a.csv", public_score="0.5")  # named by the ledger, not the path
    assert ledger.read(demo.ledger)["public_score"].tolist() == ["", ""]


def _lb(paths, *args):
    return cli.main(["lb", "--comp", paths.slug, "--root", str(paths.root), *args])


def test_memdev_lb_records_a_number_the_competitions_metric_can_give_and_refuses_anything_else(tmp_path, capsys):
    cardio = Paths("cardio", tmp_path)
    _config(cardio, "f1")
    _ledger_with(cardio, "a.csv")
    file = "submissions/cardio/a.csv"
    for score, error in (("abc", "score 'abc' is not a number (e.g. SCORE=0.812)"),
                         ("1.7", "score 1.7 is out of range for f1: f1 lies between 0 and 1")):
        assert _lb(cardio, "--score", score, "--file", file) == 2
        assert capsys.readouterr().err.splitlines() == [f"memdev lb: error: {error}"]
    assert ledger.read(cardio.ledger)["public_score"].tolist() == [""]
    assert _lb(cardio, "--score", "0.75", "--file", file) == 0
    assert ledger.read(cardio.ledger)["public_score"].tolist() == ["0.75"]


def test_memdev_lb_refuses_a_file_of_another_competition_in_one_line(tmp_path, capsys):
    cardio, demo = Paths("cardio", tmp_path), Paths("demo", tmp_path)
    _config(cardio, "f1")
    _config(demo, "f1")
    _ledger_with(cardio, "a.csv")
    assert _lb(demo, "--score", "0.5", "--file", "submissions/cardio/a.csv") == 2
    assert capsys.readouterr().err.splitlines() == [
        "memdev lb: error: submissions/cardio/a.csv is a submission of cardio, not of demo"]
    assert ledger.read(cardio.ledger)["public_score"].tolist() == [""]


def test_diff_counts_changed_labels(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame({"id": [1, 2, 3, 4], "y": [0, 1, 1, 0]}).to_csv(a, index=False)
    pd.DataFrame({"id": [4, 3, 2, 1], "y": [1, 1, 1, 0]}).to_csv(b, index=False)
    assert ledger.diff(a, b).startswith("1 of 4 ids changed label (25.00%): 1 became 1, 0 became 0")


def test_diff_counts_changed_labels_written_in_the_targets_words(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame({"id": [1, 2, 3, 4, 5], "y": ["legit", "fraud", "legit", "legit", "legit"]}).to_csv(a, index=False)
    pd.DataFrame({"id": [1, 2, 3, 4, 5], "y": ["fraud", "fraud", "legit", "legit", "legit"]}).to_csv(b, index=False)
    assert ledger.diff(a, b).startswith("1 of 5 ids changed label (20.00%): 1 became 1, 0 became 0")


def test_diff_of_scores_is_a_rank_correlation(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pd.DataFrame({"id": range(10), "y": [i / 10 for i in range(10)]}).to_csv(a, index=False)
    pd.DataFrame({"id": range(10), "y": [i / 5 for i in range(10)]}).to_csv(b, index=False)
    assert ledger.diff(a, b).startswith("rank correlation 1.0000")


def test_ranking_against_a_public_only_solution_has_no_private_column(tmp_path):
    paths = Paths("demo", tmp_path)
    (tmp_path / "submissions" / "demo").mkdir(parents=True)
    for name, values in (("good.csv", [1, 0, 0, 0]), ("bad.csv", [0, 1, 0, 0])):
        pd.DataFrame({"id": range(4), "anomaly": values}).to_csv(tmp_path / "submissions" / "demo" / name, index=False)
    _ledger_with(paths, "bad.csv", "good.csv", "gone.csv")
    _config(paths, "f1")
    solution = tmp_path / "solution.csv"
    pd.DataFrame({"id": range(4), "anomaly": [1, 0, 0, 0], "Usage": "Public"}).to_csv(solution, index=False)
    lines = ledger.rank(paths, solution).splitlines()
    assert lines[0] == "f1 on each half of solution.csv, ranked by the public half; CV: out-of-fold f1"
    assert lines[1].split() == ["submission", "CV", "public"]
    assert [line.split()[0] for line in lines[2:]] == ["good.csv", "bad.csv", "gone.csv"]
    assert lines[2].split()[1:] == ["0.8000", "1.0000"] and lines[4].split()[2] == "missing"


def test_ranking_scores_by_the_configs_metric_and_leaves_out_a_cv_of_another_metric(tmp_path):
    """satellite's case: metric roc_auc, one submission made when the config said f1."""
    paths = Paths("satellite", tmp_path)
    paths.submissions.mkdir(parents=True)
    for name in ("old.csv", "new.csv"):
        pd.DataFrame({"id": range(4), "anomaly": [0.9, 0.1, 0.3, 0.2]}).to_csv(paths.submissions / name, index=False)
    _ledger_with(paths, "old.csv", cv_metric="f1")
    _ledger_with(paths, "new.csv", cv_metric="roc_auc")
    _config(paths, "roc_auc")
    solution = tmp_path / "solution.csv"
    pd.DataFrame({"id": range(4), "anomaly": [1, 0, 0, 1]}).to_csv(solution, index=False)
    lines = ledger.rank(paths, solution).splitlines()
    assert lines[0].startswith("roc_auc on each half")
    cells = {line.split()[0]: line.split()[1:] for line in lines[2:4]}
    assert cells == {"old.csv": ["other", "0.7500"], "new.csv": ["0.8000", "0.7500"]}  # AUC, not AP (0.8333)
    assert lines[4] == "CV other: of another metric than roc_auc, so left out: old.csv (f1 0.8000)"
    assert ledger.rank(paths, solution, "average_precision").splitlines()[3].split()[-1] == "0.8333"


def _append_rows(args):
    path, worker, count = args
    for i in range(count):
        ledger.append(path, {"competition": "demo", "file": f"submissions/demo/{worker}-{i}.csv"})


def test_concurrent_writers_lose_no_row(tmp_path):
    """8 processes appending at once (a `make submit` beside another, or beside `make lb`): every row stays."""
    import multiprocessing

    path = Paths("demo", tmp_path).ledger
    with multiprocessing.get_context("fork").Pool(8) as pool:
        pool.map(_append_rows, [(path, worker, 15) for worker in range(8)])
    frame = ledger.read(path)
    assert len(frame) == 8 * 15 and frame["file"].is_unique
