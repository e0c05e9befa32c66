"""The leaderboard loop end to end through the CLI: submit and upload, fetch the
public score, record one by hand, compare submissions, rank them offline.

The `kaggle` executable is the stub from conftest: it logs its arguments and
lists every uploaded file back with a public score of 0.777.
"""

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import memdev
from memdev.submission import ledger


def _submit(paths, *args):
    result = memdev(paths.root, "submit", "--comp", "tiny", *args)
    return result, result.stdout.strip().splitlines()[-1]


def _row(paths, file):
    rows = ledger.read(paths.ledger)
    return rows[rows["file"] == file].iloc[0]


def test_submit_upload_then_lb_fills_the_public_score(trained, stub_kaggle):
    result, file = _submit(trained, "--kaggle", "--message", "first try")
    assert result.returncode == 0, result.stderr
    assert f"competitions submit tiny -f {file} -m first try" in stub_kaggle.read_text()
    assert _row(trained, file)["uploaded"] == "yes"

    result = memdev(trained.root, "lb", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    assert "competitions submissions tiny --csv" in stub_kaggle.read_text()
    assert float(_row(trained, file)["public_score"]) == pytest.approx(0.777)

    # the same bytes again: written and recorded, said to be a twin, and not uploaded a second time
    result, again = _submit(trained, "--kaggle")
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert f"the same bytes as {file}" in said and "(public 0.777" in said
    assert "not uploaded: " in said and stub_kaggle.read_text().count("competitions submit ") == 1
    assert _row(trained, again)["uploaded"] == "no"


def test_the_default_message_names_the_cv_score_and_commit(trained, stub_kaggle):
    result, file = _submit(trained, "--kaggle")
    assert result.returncode == 0, result.stderr
    message = _row(trained, file)["message"]
    assert message.startswith("memdev ") and " CV f1-" in message and " commit " in message
    assert f"-m {message}" in stub_kaggle.read_text()


def test_a_failed_upload_keeps_the_csv_and_its_ledger_row(trained, stub_kaggle, monkeypatch):
    monkeypatch.setenv("KAGGLE_STUB_FAIL", "submission limit reached")
    result, file = _submit(trained, "--kaggle")
    assert result.returncode == 2
    assert "submission limit reached" in result.stderr and "Traceback" not in result.stderr
    assert "s3cr3t-key" not in result.stdout + result.stderr + trained.ledger.read_text()
    assert os.path.isfile(file) and _row(trained, file)["uploaded"] == "failed"


def test_a_missing_cli_says_how_to_install_it_and_keeps_the_csv(trained, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable))  # the venv only: no kaggle
    result, file = _submit(trained, "--kaggle")
    assert result.returncode == 2 and "pip install kaggle" in result.stderr
    assert os.path.isfile(file) and _row(trained, file)["uploaded"] == "failed"


def test_a_score_recorded_by_hand_then_diff_and_local_ranking(trained):
    first = _submit(trained)[1]
    second = _submit(trained)[1]
    result = memdev(trained.root, "lb", "--comp", "tiny", "--score", "0.5", "--file", first)
    assert result.returncode == 0, result.stderr
    assert float(_row(trained, first)["public_score"]) == 0.5

    result = subprocess.run([sys.executable, "-m", "memdev", "diff", first, second], capture_output=True, text=True)
    assert result.returncode == 0 and "0 of 60 ids changed label" in result.stdout

    test = pd.read_csv(trained.test_csv)
    solution = trained.root / "solution.csv"
    # the same rule the tiny competition's train labels follow: shifted rows are anomalies
    truth = (test.filter(like="f").mean(axis=1) > 1.5).astype(int)
    pd.DataFrame({"id": test["id"], "target": truth, "Usage": ["Public", "Private"] * 30}).to_csv(solution, index=False)
    result = memdev(trained.root, "score", "--comp", "tiny", str(solution))
    assert result.returncode == 0, result.stderr
    assert "public" in result.stdout and "private" in result.stdout
    assert os.path.basename(first) in result.stdout and os.path.basename(second) in result.stdout
