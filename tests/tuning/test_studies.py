"""Finding a competition's studies without changing them: the current one first, errors named, no storage no fail."""

import optuna
import pytest
import yaml

from conftest import add_study
from memdev.errors import MemdevError
from memdev.paths import Paths
from memdev.tuning import studies


def test_no_sqlite_file_means_no_storage_and_nothing_is_created(tmp_path):
    paths = Paths("comp", tmp_path)
    assert studies.open_storage(paths) is None
    assert not paths.study_db.exists()


def test_the_study_best_params_came_from_comes_first_then_the_newest(tmp_path):
    paths = Paths("comp", tmp_path)
    add_study(paths, "comp-old", 2)
    add_study(paths, "comp-new", 3)
    add_study(paths, "other-1234", 1)  # another competition's study in a shared storage
    found = studies.find(paths, studies.open_storage(paths))
    assert [s.name for s in found] == ["comp-new", "comp-old"]
    paths.best_params.write_text(yaml.safe_dump({"study": "comp-old", "trial": 1}))
    found = studies.find(paths, studies.open_storage(paths))
    assert [s.name for s in found] == ["comp-old", "comp-new"]
    assert len(found[0].trials) == 2 and found[0].count(optuna.trial.TrialState.COMPLETE) == 2
    assert found[0].best.value == max(t.value for t in found[0].trials)


def test_an_unreadable_storage_is_one_error_with_the_password_masked(tmp_path):
    with pytest.raises(MemdevError, match=r"cannot read the study storage postgresql://memdev:\*\*\*@127.0.0.1:1/db"):
        studies.open_storage(Paths("comp", tmp_path), "postgresql://memdev:s3cret@127.0.0.1:1/db")
