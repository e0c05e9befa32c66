"""`python -m memdev.bench`: what it refuses before running anything (the runs themselves are `make bench`)."""

import json
import os
import subprocess
import sys

from conftest import SRC


def bench(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([sys.executable, "-m", "memdev.bench", *args], capture_output=True, text=True, env=env)


def test_help_names_the_modes():
    result = bench("--help")
    modes = ("--ablation", "--weak", "--halves", "--label-free", "--tuning", "--speed")
    assert result.returncode == 0 and all(mode in result.stdout for mode in modes)


def test_nothing_runs_without_competitions_or_with_an_unknown_one(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    result = bench("--competitions", str(tmp_path), "--out", str(out))
    assert result.returncode == 2 and "no practice competitions in" in result.stderr
    (tmp_path / "thyroid.json").write_text(json.dumps({"metric": "average_precision", "regime": "weak-30"}))
    result = bench("--competitions", str(tmp_path), "--out", str(out), "--comps", "cardio")
    assert result.returncode == 2 and "no competition 'cardio'" in result.stderr and "(found thyroid)" in result.stderr
    result = bench("--competitions", str(tmp_path), "--out", str(out), "--tuning", "--trials", "6")
    assert result.returncode == 2 and "a positive multiple of 4" in result.stderr
    for mode in ("--weak", "--halves"):
        result = bench("--competitions", str(tmp_path), "--out", str(out), mode)
        assert result.returncode == 2 and f"no fully labeled competition in {tmp_path} for {mode}" in result.stderr
    assert not out.exists()


def test_speed_needs_a_baseline_and_a_baseline_needs_speed(tmp_path):
    (tmp_path / "thyroid.json").write_text(json.dumps({"metric": "average_precision", "regime": "weak-30"}))
    out = tmp_path / "BENCHMARKS.md"
    for args in (["--speed"], ["--baseline", "main"]):
        result = bench("--competitions", str(tmp_path), "--out", str(out), *args)
        assert result.returncode == 2 and "--speed and --baseline REF go together" in result.stderr
    assert not out.exists()
