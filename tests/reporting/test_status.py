"""``memdev status`` on the demo: before ``make train``, after it, after config edits, with a study and submissions."""

import os
import re
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
import yaml

from conftest import FAST, add_study, fast_config, memdev
from memdev.paths import Paths
from memdev.submission import ledger


def status(paths: Paths, *args: str) -> dict[str, str]:
    """The status screen, one entry per labelled line (continuation lines joined to the one above)."""
    result = memdev(paths.root, "status", "--comp", paths.slug, *args)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow start-up, no warnings
    lines: dict[str, str] = {}
    label = ""
    for line in result.stdout.splitlines()[1:]:
        label = line[:12].strip() or label
        lines[label] = (lines.get(label, "") + " " + line[12:].strip()).strip()
    return lines


def later(path) -> None:
    """Mark ``path`` as edited a moment after everything else (file times may be coarse)."""
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))


def fetched(root) -> Paths:
    """The demo competition below ``root``, with a config that trains in seconds, not yet trained."""
    paths = Paths("demo", root)
    assert memdev(paths.root, "data", "--comp", "demo").returncode == 0
    config = yaml.safe_load(paths.config.read_text())
    for key, value in FAST.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    paths.config.write_text(yaml.safe_dump(config, sort_keys=False))
    return paths


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo competition after `memdev train` (each test worker trains its own: no test relies on another's)."""
    paths = fetched(tmp_path_factory.mktemp("status"))
    result = memdev(paths.root, "train", "--comp", "demo")
    assert result.returncode == 0, result.stderr
    return paths


def test_before_anything_it_says_to_bring_the_data_in(tmp_path):
    lines = status(Paths("demo", tmp_path))
    assert lines["data"].startswith("not here yet (no train.csv, test.csv, sample_submission.csv, config.yaml)")
    assert lines["next"] == "make data COMP=demo"


def test_before_make_train_every_stage_is_not_run(tmp_path):
    lines = status(fetched(tmp_path))
    assert re.fullmatch(r"train\.csv \d+\.\d MiB, test\.csv .*; regime full, metric f1, label submission",
                        lines["data"])
    assert lines["preprocess"] == lines["pretrain"] == lines["finetune"] == "not run"
    assert lines["model"] == "not trained yet (make train COMP=demo)"
    assert lines["study"] == "none yet (make tune COMP=demo)"
    assert lines["submitted"] == "nothing yet"
    assert lines["next"] == "make train COMP=demo"


def test_after_make_train_every_stage_is_up_to_date_and_the_model_has_its_cv(demo):
    lines = status(demo)
    assert lines["data"].startswith("train 1,257 rows (125 labeled anomalies), test 540 rows, 61 features; regime full")
    for stage in ("preprocess", "pretrain", "finetune"):
        assert re.fullmatch(r"up to date \d{4}-\d\d-\d\d \d\d:\d\d", lines[stage]), lines[stage]
    assert re.fullmatch(r"(memae|devnet|iforest|lof|ensemble): CV f1 0\.\d{4} \(folds 0\.\d{4} to \d\.\d{4}\); "
                        r"threshold f1 calls \d+\.\d\d% of training rows anomalous candidates: memae 0\.\d{4}, "
                        r"devnet 0\.\d{4}, iforest 0\.\d{4}, lof 0\.\d{4}, ensemble 0\.\d{4}",
                        lines["model"])
    assert lines["next"] == "make submit COMP=demo"


def test_after_a_config_edit_the_stages_are_stale_and_say_why(demo):
    text = demo.config.read_text()
    try:
        demo.config.write_text(text + "# a note to myself\n")  # a comment: make re-runs, nothing changes
        later(demo.config)
        lines = status(demo)
        assert lines["preprocess"].endswith("config.yaml is newer")
        assert lines["pretrain"].endswith("preprocess is stale; config.yaml is newer (same settings)")
        assert lines["next"] == "make train COMP=demo"

        demo.config.write_text(text.replace("epochs: 2", "epochs: 3", 1))
        later(demo.config)
        lines = status(demo)
        assert lines["preprocess"].startswith("stale") and lines["preprocess"].endswith("config.yaml is newer")
        assert lines["pretrain"].endswith("preprocess is stale; config.yaml is newer; settings differ")
        assert lines["finetune"].endswith("pretrain is stale; config.yaml is newer; settings differ")
        assert lines["next"] == "make train COMP=demo"
    finally:
        demo.config.write_text(text)
        edited = demo.config.stat().st_mtime
        for step, output in enumerate((demo.x_train, demo.pretrained, demo.cv), 1):  # as after `make train` again
            os.utime(output, (edited + step, edited + step))


def test_the_study_and_the_last_submissions_are_on_the_screen(demo):
    add_study(demo, "demo-1a2b3c4d", 3)
    lines = status(demo)
    assert re.fullmatch(r"demo-1a2b3c4d: 3 trials \(3 complete\), best f1 0\.\d{4} at trial #\d no best_params\.yaml: "
                        r"training uses the config's own values", lines["study"])
    best = int(re.search(r"at trial #(\d)", lines["study"]).group(1))
    why = "the config's own values (trial #0, CV f1 0.5000): the best trial beats them by +0.0100 ± 0.0586 per fold"
    demo.best_params.write_text(yaml.safe_dump({"study": "demo-1a2b3c4d", "trial": (best + 1) % 3, "why": why}))
    try:
        assert status(demo)["study"].endswith(f"best_params.yaml holds {why}")
    finally:
        demo.best_params.unlink()
    soon = datetime.now(timezone.utc) + timedelta(minutes=1)  # submitted after the models were trained
    for number, public in ((1, "0.81234"), (2, "")):
        time = (soon + timedelta(minutes=number)).isoformat(timespec="seconds")
        ledger.append(demo.ledger, {"time": time, "competition": "demo",
                                    "file": f"submissions/demo/{number}.csv", "model": "devnet", "cv_metric": "f1",
                                    "cv_value": "0.950000", "uploaded": "yes" if public else "no",
                                    "public_score": public})
    lines = status(demo)
    shown = [(soon + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M") for n in (1, 2)]
    assert lines["submitted"] == (f"2 in {demo.ledger}, the last: "
                                  f"{shown[0]}  devnet  CV f1 0.9500  public 0.81234  1.csv "
                                  f"{shown[1]}  devnet  CV f1 0.9500  public - (not uploaded)  2.csv")
    assert lines["next"].startswith("nothing to re-run"), lines


def test_an_unreachable_storage_is_named_and_the_rest_still_shows(demo):
    lines = status(demo, "--storage", "postgresql://someone:pw@127.0.0.1:1/none")
    assert lines["study"].startswith("cannot open the study storage postgresql://someone:***@127.0.0.1:1/none")
    assert re.match(r"(memae|devnet|iforest|lof|ensemble): CV f1 ", lines["model"])


def test_with_a_few_labels_or_none_the_next_step_is_not_make_tune(tmp_path):
    """`make tune` runs no trial there (README, Tuning), so the screen does not send anyone to it."""
    from memdev.reporting.status import next_step

    paths = Paths("toy", tmp_path)
    paths.cv.parent.mkdir(parents=True)
    paths.cv.write_text("{}")
    submitted = pd.DataFrame({"time": [(datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()]})
    assert next_step(paths, [], submitted, tunable=True).startswith("nothing to re-run; make tune COMP=toy")
    assert next_step(paths, [], submitted, tunable=False) == "nothing to re-run; make lb COMP=toy fetches scores"


def test_make_tune_is_offered_only_where_a_trial_has_labeled_anomalies_to_count(tmp_path):
    from memdev.evaluation.threshold import Threshold
    from memdev.reporting.status import tunable
    from memdev.training.summary import CVSummary

    paths = Paths("toy", tmp_path)
    assert tunable(paths, fast_config(regime="full")) and not tunable(paths, fast_config(regime="weak"))
    paths.cv.parent.mkdir(parents=True)
    trained = CVSummary(model="gbm", metric="f1", regime="full", value=0.9, threshold=Threshold("f1", 0.5, 0.1, "value"))
    trained.save(paths)
    assert tunable(paths, fast_config(regime="full"))
    # fully labeled, but fewer than 2 anomalies: trained by the label-free rule, and `make tune` runs no trial
    CVSummary(model="iforest", metric="f1", regime="full", value=None, threshold=Threshold("quantile", 0.5, 0.1, "rate")).save(paths)
    assert not tunable(paths, fast_config(regime="full"))
