"""memdev.bench.runs: a timed make run, and config edits as a user makes them."""

import pytest
import yaml

from memdev.bench import runs

MAKEFILE = """ok:
\t@echo building $(COMP)
\t@echo out/$(COMP).csv
broken:
\t@echo first problem >&2
\t@echo second problem >&2
\t@exit 3
"""


def test_make_is_timed_and_its_last_line_kept(tmp_path):
    (tmp_path / "Makefile").write_text(MAKEFILE)
    stage = runs.make(tmp_path, "ok", "toy")
    assert stage.last_line == "out/toy.csv" and stage.seconds > 0 and stage.peak_mib > 0
    assert (tmp_path / "ok.log").read_text().splitlines() == ["building toy", "out/toy.csv"]
    assert runs.make(tmp_path, "ok", "two", log="ok-2").last_line == "out/two.csv"  # its own log
    assert (tmp_path / "ok.log").read_text().splitlines()[0] == "building toy"


def test_a_failed_make_says_its_exit_code_and_last_errors(tmp_path):
    (tmp_path / "Makefile").write_text(MAKEFILE)
    with pytest.raises(RuntimeError, match="make broken failed .exit 2.: .*first problem / second problem"):
        runs.make(tmp_path, "broken", "toy")


def test_config_edits_report_only_what_changed(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"metric": "f1", "regime": "weak", "folds": 5, "memae": {"epochs": 60, "latent": 16}}))
    edits = runs.edit_config(path, {"metric": "roc_auc", "regime": "weak", "memae.epochs": 15})
    assert edits == ["metric f1 -> roc_auc", "memae.epochs 60 -> 15"]
    assert yaml.safe_load(path.read_text()) == {"metric": "roc_auc", "regime": "weak", "folds": 5,
                                                "memae": {"epochs": 15, "latent": 16}}
