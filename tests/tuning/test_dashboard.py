"""``make dashboard``: optuna-dashboard on the competition's study, on 127.0.0.1, until Ctrl-C."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from conftest import SRC, add_study
from memdev.errors import MemdevError
from memdev.paths import Paths
from memdev.tuning import dashboard


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_the_dashboard_serves_the_study_and_its_api_lists_the_trials(tmp_path):
    paths = Paths("comp", tmp_path)
    add_study(paths, "comp-1a2b3c4d", 3)
    httpd, address = dashboard.server(paths)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base, study_id = re.fullmatch(r"(http://127\.0\.0\.1:\d+)/dashboard/studies/(\d+)", address).groups()
        listed = get(f"{base}/api/studies")["study_summaries"]
        assert [(s["study_id"], s["study_name"]) for s in listed] == [(int(study_id), "comp-1a2b3c4d")]
        trials = get(f"{base}/api/studies/{study_id}")["trials"]
        assert [t["number"] for t in trials] == [0, 1, 2]
        assert all(t["state"] == "Complete" and "x" in {p["name"] for p in t["params"]} for t in trials)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_without_a_study_it_says_how_to_make_one(tmp_path):
    with pytest.raises(MemdevError, match=r"no study of 'comp' in sqlite:///.*study.db yet; run `make tune COMP=comp`"):
        dashboard.server(Paths("comp", tmp_path))


def as_a_background_job():
    """What a shell does to a job it starts with `&`: SIGINT ignored, and the process inherits that."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_memdev_dashboard_prints_its_address_and_stops_on_ctrl_c_even_started_in_the_background(tmp_path):
    paths = Paths("comp", tmp_path)
    add_study(paths, "comp-1a2b3c4d", 2)
    command = [sys.executable, "-m", "memdev", "dashboard", "--comp", "comp", "--root", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          preexec_fn=as_a_background_job) as process:
        try:
            line = process.stdout.readline()
            address = re.search(r"http://127\.0\.0\.1:\d+/dashboard/studies/\d+", line)
            assert address, line + process.stderr.read()
            assert len(get(address[0].replace("/dashboard/studies/", "/api/studies/"))["trials"]) == 2
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0
            assert "dashboard: stopped" in process.stdout.read()
        finally:
            process.kill()
