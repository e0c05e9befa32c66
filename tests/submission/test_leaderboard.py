"""The local leaderboard: a submission scored against a solution, Public and Private halves apart."""

import pandas as pd
import pytest

from memdev.errors import MemdevError
from memdev.submission import leaderboard


@pytest.fixture
def solution(tmp_path):
    """20 rows: ids 0..9 Public, 10..19 Private; every fifth row anomalous."""
    ids = list(range(20))
    frame = pd.DataFrame({
        "id": ids, "anomaly": [int(i % 5 == 0) for i in ids], "Usage": ["Public"] * 10 + ["Private"] * 10,
    }).sample(frac=1, random_state=0)  # row order must not matter
    path = tmp_path / "solution.csv"
    frame.to_csv(path, index=False)
    return path


def write(tmp_path, name, ids, values, columns=("id", "anomaly")):
    path = tmp_path / name
    pd.DataFrame({columns[0]: ids, columns[1]: values}).to_csv(path, index=False)
    return path


def test_public_and_private_halves_are_scored_separately(tmp_path, solution):
    # right on every Public row, every anomaly missed on the Private half
    labels = [int(i % 5 == 0) if i < 10 else 0 for i in range(20)]
    results = leaderboard.score(write(tmp_path, "sub.csv", range(20), labels), solution)
    assert results["metric"] == "f1"
    assert results["Public"]["score"] == 1.0 and results["Public"]["rows"] == 10
    assert results["Private"]["score"] == 0.0 and results["Private"]["rows"] == 10
    assert results["Private"]["base_rate_accuracy"] == 0.8


def test_a_score_submission_is_judged_by_average_precision_on_each_half(tmp_path, solution):
    scores = [(1.0 if i % 5 == 0 else 0.1) if i < 10 else (0.0 if i % 5 == 0 else 0.5) for i in range(20)]
    results = leaderboard.score(write(tmp_path, "sub.csv", range(20), scores), solution)
    assert results["metric"] == "average_precision"
    assert results["Public"]["score"] == 1.0
    assert results["Private"]["score"] == pytest.approx(0.2)  # anomalies ranked last: AP is the prevalence
    assert "precision" not in results["Public"]  # no labels, no label metrics


def test_the_metric_can_be_named(tmp_path, solution):
    scores = [float(i % 5 == 0) for i in range(20)]
    results = leaderboard.score(write(tmp_path, "sub.csv", range(20), scores), solution, metric="roc_auc")
    assert results["metric"] == "roc_auc" and results["Public"]["score"] == 1.0


def test_a_solution_without_usage_is_all_public(tmp_path):
    solution = write(tmp_path, "solution.csv", range(10), [int(i < 2) for i in range(10)])
    results = leaderboard.score(write(tmp_path, "sub.csv", range(10), [int(i < 2) for i in range(10)]), solution)
    assert set(results) == {"Public", "metric"} and results["Public"]["score"] == 1.0


def test_ids_are_matched_as_exact_text_even_with_leading_zeros(tmp_path):
    ids = [f"{i:04d}" for i in range(10)]
    solution = write(tmp_path, "solution.csv", ids, [int(i < 3) for i in range(10)])
    results = leaderboard.score(write(tmp_path, "sub.csv", ids, [int(i < 3) for i in range(10)]), solution)
    assert results["Public"]["score"] == 1.0


def test_a_missing_prediction_is_an_error_naming_the_id(tmp_path, solution):
    with pytest.raises(MemdevError, match="no prediction for id '19'"):
        leaderboard.score(write(tmp_path, "sub.csv", range(19), [0] * 19), solution)


def test_a_solution_without_the_submissions_id_column_is_refused(tmp_path, solution):
    with pytest.raises(MemdevError, match="has no id column 'ID'"):
        leaderboard.score(write(tmp_path, "sub.csv", range(20), [0] * 20, columns=("ID", "anomaly")), solution)


def test_scores_given_as_the_solution_are_refused_not_cut_to_whole_numbers(tmp_path, solution):
    scores = write(tmp_path, "sub.csv", range(20), [0.1 * (i % 7) for i in range(20)])
    with pytest.raises(MemdevError, match=r"sub.csv: 0.1 is not a label: .*memdev score SUBMISSION SOLUTION"):
        leaderboard.score(solution, scores)  # the two files swapped


def test_show_prints_a_line_per_half_with_its_verdict(tmp_path, solution):
    labels = [int(i % 5 == 0) for i in range(20)]
    text = leaderboard.show(leaderboard.score(write(tmp_path, "sub.csv", range(20), labels), solution))
    lines = text.splitlines()
    assert any(line.startswith("Public   f1 = 1.0000: beats chance on f1") for line in lines)
    assert any(line.startswith("Private  f1 = 1.0000") for line in lines)
    assert any(line.startswith("base-rate accuracy (all normal)") for line in lines)


def test_a_public_only_solution_scores_the_public_half_and_prints_no_private_line(tmp_path):
    # the practice solutions, like Kaggle's public leaderboard, hold the Public half only
    ids = list(range(10))
    truth = [int(i % 5 == 0) for i in ids]
    public_only = tmp_path / "public.csv"
    pd.DataFrame({"id": ids, "anomaly": truth, "Usage": "Public"}).to_csv(public_only, index=False)
    results = leaderboard.score(write(tmp_path, "sub.csv", ids, truth), public_only)
    assert "Private" not in results and results["Public"]["score"] == 1.0
    text = leaderboard.show(results)
    assert "Public   f1 = 1.0000" in text and "Private" not in text


def test_memdev_score_calls_a_model_that_beats_chance_on_f1_useful_though_accuracy_does_not_beat_the_base_rate(tmp_path):
    """Issue 16's case: 1% prevalence, precision 0.45, recall 0.90. F1 0.60 where calling every row
    anomalous gets 0.02: useful, though its accuracy (0.988) is below the base rate's (0.990)."""
    from conftest import memdev

    truth = [int(i < 10) for i in range(1000)]
    labels = [int(i < 9 or 10 <= i < 21) for i in range(1000)]  # 9 of the 10 anomalies, 11 false alarms
    solution = write(tmp_path, "solution.csv", range(1000), truth)
    result = memdev(tmp_path, "score", str(write(tmp_path, "sub.csv", range(1000), labels)), str(solution))
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("Public"))
    assert "f1 = 0.6000: beats chance on f1: 0.600 vs 0.020 for calling every row anomalous" in line
    assert "accuracy 0.988 vs 0.990 for calling every row normal" in line and "NO BETTER" not in line


def test_a_solution_in_words_scores_submissions_in_the_same_words_or_in_scores(tmp_path):
    truth = ["fraud" if i % 5 == 0 else "legit" for i in range(10)]
    solution = write(tmp_path, "solution.csv", range(10), truth)
    assert leaderboard.score(write(tmp_path, "words.csv", range(10), truth), solution)["Public"]["score"] == 1.0
    scores = [float(word == "fraud") for word in truth]
    assert leaderboard.score(write(tmp_path, "scores.csv", range(10), scores), solution)["Public"]["score"] == 1.0
    with pytest.raises(MemdevError, match="value 'maybe' is neither a number nor one of the solution's labels"):
        leaderboard.score(write(tmp_path, "bad.csv", range(10), ["maybe"] * 10), solution)


def test_a_label_metric_asked_of_scores_is_a_one_line_error_not_a_traceback(tmp_path, solution):
    scores = write(tmp_path, "sub.csv", range(20), [0.1 * (i % 7) for i in range(20)])
    with pytest.raises(MemdevError, match="sub.csv: holds scores, not 0/1 labels, and f1 counts labels"):
        leaderboard.score(scores, solution, metric="f1")


def _satellite(tmp_path):
    """A project whose competition `satellite` says metric roc_auc, a score submission of it, and a solution
    on which its roc_auc (0.75) and average precision (0.8333) differ."""
    from conftest import fast_config
    from memdev import config as config_io
    from memdev.paths import Paths

    paths = Paths("satellite", tmp_path)
    config_io.save(fast_config("satellite", metric="roc_auc", submission="score"), paths.config)
    paths.submissions.mkdir(parents=True)
    submission = write(paths.submissions, "a.csv", range(4), [0.9, 0.1, 0.3, 0.2])
    return paths, submission, write(tmp_path, "solution.csv", range(4), [1, 0, 0, 1])


def _score(capsys, *args):
    from memdev import cli

    code = cli.main(["score", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_memdev_score_scores_by_the_metric_of_the_competition_the_submission_belongs_to(tmp_path, capsys):
    paths, submission, solution = _satellite(tmp_path)
    code, out, err = _score(capsys, submission, solution, "--root", tmp_path)
    assert code == 0, err
    assert out.splitlines()[0] == "metric: roc_auc (satellite's config)" and "Public   roc_auc = 0.7500" in out
    code, out, _ = _score(capsys, submission, solution, "--comp", "satellite", "--root", tmp_path)
    assert "Public   roc_auc = 0.7500" in out


def test_an_explicit_metric_wins_over_the_competitions(tmp_path, capsys):
    paths, submission, solution = _satellite(tmp_path)
    code, out, _ = _score(capsys, submission, solution, "--metric", "average_precision", "--root", tmp_path)
    assert out.splitlines()[0] == "metric: average_precision (--metric)" and "average_precision = 0.8333" in out


def test_without_a_competition_the_default_for_the_kind_is_used_and_named(tmp_path, capsys):
    _, _, solution = _satellite(tmp_path)
    loose = write(tmp_path, "loose.csv", range(4), [0.9, 0.1, 0.3, 0.2])
    code, out, _ = _score(capsys, loose, solution, "--root", tmp_path)
    assert code == 0 and out.splitlines()[0].startswith("metric: average_precision (the default for this kind")


def test_a_submission_of_another_competition_than_comp_is_refused_naming_both(tmp_path, capsys):
    _, submission, solution = _satellite(tmp_path)
    code, _, err = _score(capsys, submission, solution, "--comp", "cardio", "--root", tmp_path)
    assert code == 2 and err.splitlines() == [f"memdev score: error: {submission} is a submission of satellite, "
                                              "not of cardio"]


def test_a_competition_without_a_config_asks_for_make_data_or_a_metric(tmp_path, capsys):
    _, _, solution = _satellite(tmp_path)
    code, _, err = _score(capsys, "--comp", "cardio", solution, "--root", tmp_path)
    assert code == 2 and len(err.splitlines()) == 1
    assert "cardio's metric is unknown; run `make data COMP=cardio` or name the metric (--metric" in err


def test_memdev_score_without_a_solution_says_so_in_one_line(tmp_path, capsys):
    code, _, err = _score(capsys, "--comp", "satellite", "--root", tmp_path)
    assert code == 2 and len(err.splitlines()) == 1 and "SOLUTION=path" in err
