"""memdev.bench.profile: `make train`'s stages under cProfile, and the top lines the Speed section quotes."""

import cProfile
import pstats

import numpy as np

from conftest import REPO
from memdev.bench import profile
from memdev.evaluation import metrics


def test_the_profiled_commands_are_the_training_stages_make_train_runs(tmp_path):
    (tmp_path / "Makefile").symlink_to(REPO / "Makefile")
    assert profile.commands(tmp_path, "toy") == [["preprocess", "--comp", "toy"], ["fit", "--comp", "toy"]]


def test_the_top_lines_are_memdevs_functions_by_cumulative_time_and_the_hottest_of_any():
    y, labels = np.arange(1000) % 7 == 0, np.arange(1000) % 5 == 0
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [metrics.label_metrics(y, labels) for _ in range(200)])
    top = profile.top(pstats.Stats(profiler))
    (ours,) = [line for line in top.own if "label_metrics" in line.function]
    assert ours.function.startswith("memdev/evaluation/metrics.py:") and ours.calls == 200
    assert all(line.function.startswith("memdev/") for line in top.own)
    assert [line.own for line in top.hot] == sorted((line.own for line in top.hot), reverse=True)
    assert len(top.hot) == profile.HOT and top.seconds > 0


def test_a_stage_runs_in_its_own_process_under_the_profiler(tmp_path, monkeypatch):
    monkeypatch.setattr(profile, "commands", lambda root, slug, env=None: [["status", "--comp", slug]])
    measured = profile.measure(tmp_path, "toy", {"PYTHONPATH": str(REPO / "src")})
    assert any(line.function.startswith("memdev/cli.py:") for line in measured.own)
    assert (tmp_path / "profile-0-status.prof").is_file()


def test_labels_name_the_package_file_line_and_function():
    assert profile.label(("/x/memdev-baseline-1/checkout/src/memdev/training/fit.py", 40, "run")) == \
        "memdev/training/fit.py:40(run)"
    assert profile.label(("/venv/lib/site-packages/sklearn/base.py", 7, "fit")) == "sklearn/base.py:7(fit)"
    assert profile.label(("~", 0, "<built-in method time.sleep>")) == "<built-in method time.sleep>"
