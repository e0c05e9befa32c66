"""Several `memdev submit` processes at once on one competition: no ledger row and no CSV is lost."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import SRC
from memdev import atomic
from memdev.submission import ledger

pytestmark = pytest.mark.slow

# `python -m memdev submit`, made to collide on purpose: every process waits for all the others before it
# submits, sees the same clock (so the same file name), and dawdles between reading and rewriting the ledger
COLLIDING = """
import os, sys, time
from datetime import datetime, timezone
from pathlib import Path

from memdev import cli
from memdev.submission import ledger, submit

here, count = Path(sys.argv[1]), int(sys.argv[2])


class Clock(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)


def slow_read(path, read=ledger.read):
    frame = read(path)
    time.sleep(0.5)
    return frame


def all_at_once(*args, run=submit.run):
    (here / str(os.getpid())).touch()
    while len(list(here.iterdir())) < count:
        time.sleep(0.05)
    return run(*args)


submit.datetime, ledger.read, submit.run = Clock, slow_read, all_at_once
sys.exit(cli.main(sys.argv[3:]))
"""


def test_eight_concurrent_submits_leave_eight_ledger_rows_and_eight_intact_csvs(trained, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    (tmp_path / "ready").mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", COLLIDING, str(tmp_path / "ready"), "8", "submit", "--comp",
                               "tiny", "--message", f"run {i}", "--root", str(trained.root)],
                              env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(8)]
    printed = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        printed.append(out.strip().splitlines()[-1])
    assert len(set(printed)) == 8  # eight CSVs, none written over another
    rows = ledger.read(trained.ledger)
    assert len(rows) == 8 and sorted(rows["message"]) == [f"run {i}" for i in range(8)]
    assert sorted(rows["file"]) == sorted(printed)
    expected = pd.read_csv(trained.sample_csv)
    for _, row in rows.iterrows():
        frame = pd.read_csv(row["file"])
        assert list(frame.columns) == list(expected.columns) and len(frame) == len(expected)
        assert atomic.sha256(row["file"]) == row["sha256"]  # the CSV is the one its row describes
