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
    with pytest.raises(MemdevError, match=r"cannot open the study storage postgresql://memdev:\*\*\*@127.0.0.1:1/db") as info:
        studies.open_storage(Paths("comp", tmp_path), "postgresql://memdev:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("url, driver", [
    ("postgresql://user@host/db", "postgresql+psycopg2://user@host/db"),
    ("postgresql://user:pw@host:5433/db?sslmode=require", "postgresql+psycopg2://user:pw@host:5433/db?sslmode=require"),
    ("postgresql+psycopg2://user@host/db", "postgresql+psycopg2://user@host/db"),
    ("postgresql+psycopg://user@host/db", "postgresql+psycopg://user@host/db"),
    ("sqlite:///data/demo/study.db", "sqlite:///data/demo/study.db"),
    ("mysql://user@host/db", "mysql://user@host/db"),
], ids=["bare postgresql", "with port and query", "psycopg2 named", "psycopg 3 named", "sqlite", "mysql"])
def test_a_bare_postgresql_url_takes_psycopg2_and_a_url_naming_its_driver_is_left_alone(url, driver):
    assert studies.driver_url(url) == driver


def test_a_bare_postgresql_url_opens_with_psycopg2_not_the_uninstalled_psycopg_3(tmp_path):
    with pytest.raises(MemdevError) as info:
        studies.rdb_storage("postgresql://nobody@127.0.0.1:1/db")
    assert "Connection refused" in str(info.value)  # psycopg2 got as far as the network
    assert "not installed" not in str(info.value)


@pytest.mark.parametrize("url", ["postgresql://nobody:pw@127.0.0.1:1/db", "postgresql+psycopg2://nobody:pw@127.0.0.1:1/db"])
def test_an_unreachable_server_is_one_line_naming_the_url_and_what_to_check_at_once(url, monkeypatch):
    slept = []
    monkeypatch.setattr(studies.time, "sleep", slept.append)
    with pytest.raises(MemdevError) as info:
        studies.rdb_storage(url)
    assert not slept  # no retries: those are for workers racing to create the tables
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"cannot open the study storage {url.replace(':pw@', ':***@')}: ")
    assert "Connection refused" in message and "check that the server is running" in message


@pytest.mark.parametrize("url, module", [("postgresql+psycopg://u@127.0.0.1:1/db", "psycopg"), ("mysql://u@127.0.0.1:1/db", "MySQLdb")])
def test_a_missing_driver_is_one_line_naming_the_module_and_the_driver_memdev_installs(url, module):
    with pytest.raises(MemdevError) as info:
        studies.rdb_storage(url)
    message = str(info.value)
    assert "\n" not in message
    assert f"No module named '{module}'" in message and "driver is not installed" in message and "psycopg2" in message


def test_a_sqlite_file_in_a_missing_folder_says_to_check_the_folder(tmp_path):
    with pytest.raises(MemdevError, match="unable to open database file .*folder exists"):
        studies.rdb_storage(f"sqlite:///{tmp_path / 'no-such-folder' / 'study.db'}")
