"""memdev.bench.tuning: what a tuning run's study must hold (the runs themselves are `--tuning`)."""

from memdev.bench import tuning
from memdev.bench.tuning import TuningRun


def test_the_check_wants_every_number_once_and_every_trial_finished():
    run = TuningRun(2, 4, seconds=120.0, numbers=[0, 1, 2, 3], states={"COMPLETE": 2, "PRUNED": 1, "FAIL": 1})
    assert run.check() == "ok" and run.finished == 4 and run.per_minute == 2.0
    run.numbers = [0, 1, 1, 3]
    assert run.check() == "**4 trials, numbers [0, 1, 1, 3]** (expected 4, 0..3)"
    run.numbers, run.states = [0, 1, 2, 3], {"COMPLETE": 3, "RUNNING": 1}
    assert run.check() == "**1 not finished**"
    run.error = "RuntimeError: a | b"
    assert run.check() == "failed: RuntimeError: a / b" and not run.timed


def test_the_baseline_is_the_one_worker_run_that_was_timed():
    one, two = TuningRun(1, 8, seconds=60.0), TuningRun(2, 8, seconds=30.0)
    assert tuning.baseline([two, one]) is one
    assert tuning.baseline([TuningRun(1, 8), two]) is None  # never timed
    assert tuning.baseline([TuningRun(1, 8, seconds=60.0, error="RuntimeError: x"), two]) is None
