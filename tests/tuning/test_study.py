"""Which study a tuning run adds to: named by everything that changes a trial, trial 0 enqueued once."""

import json
import threading

import optuna
import pytest

from conftest import fast_config
from memdev.errors import MemdevError
from memdev.paths import Paths
from memdev.tuning import studies
from memdev.tuning import study as tuning_study

SPACE = {"memae.memory_size": {"low": 10, "high": 500, "log": True}, "memae.optimizer": {"choices": ["adam", "sgd"]}}
FIRST = {"memae.memory_size": 10, "memae.optimizer": "adam"}


@pytest.fixture
def paths(tmp_path):
    paths = Paths("toy", tmp_path)
    paths.features.mkdir(parents=True)
    paths.features_info.write_text(json.dumps({"stamp": {"config": "c0ffee", "train": "abc", "test": "def"}}))
    return paths


def name(config, paths, space=SPACE):
    return tuning_study.name(config, tuning_study.identity(config, space, paths))


def test_the_name_hashes_everything_that_changes_a_trial_and_nothing_else(paths):
    config = fast_config()
    base = name(config, paths)
    assert base.startswith("toy-") and base == name(fast_config(), paths)
    changed = [config.with_params({"memae.epochs": 4}), config.with_params({"head.inputs": ["features"]}),
               config.with_params({"stacking": "auto"}), config.with_params({"threshold.quantile": 0.9}),
               config.with_params({"folds": 3}), config.with_params({"seed": 1})]
    assert len({base, *(name(c, paths) for c in changed)}) == 1 + len(changed)
    assert name(config, paths, {**SPACE, "head.margin": {"low": 2.0, "high": 8.0}}) != base
    assert name(config.with_params({"scorers": ["devnet"]}), paths) == base  # reports only
    paths.features_info.write_text(json.dumps({"stamp": {"config": "c0ffee", "train": "other", "test": "def"}}))
    assert name(config, paths) != base  # another train table


def test_differences_name_each_changed_setting():
    old = {"config": {"memae": {"epochs": 2, "latent": 4}}, "search space": SPACE, "data": {"train data": "a"}}
    new = {"config": {"memae": {"epochs": 3, "latent": 4}}, "search space": SPACE, "data": {"train data": "b"}}
    assert tuning_study.differences(old, new) == ["memae.epochs 2 -> 3", "train data changed"]


def test_the_first_study_in_a_storage_is_called_the_first_and_a_config_edit_names_what_changed(paths, caplog):
    url = f"sqlite:///{paths.study_db}"
    config = fast_config()
    tuning_study.open_study(config, SPACE, paths, url, FIRST)
    assert f"the first study of {config.slug} in this storage" in caplog.text
    tuning_study.open_study(config.with_params({"memae.epochs": config.memae.epochs + 1}), SPACE, paths, url, FIRST)
    assert f"memae.epochs {config.memae.epochs} -> {config.memae.epochs + 1}" in caplog.text and "older memdev" not in caplog.text


def test_workers_opening_a_new_study_together_enqueue_trial_0_once(paths):
    url = f"sqlite:///{paths.study_db}"
    opened = []

    def worker():
        opened.append(tuning_study.open_study(fast_config(), SPACE, paths, url, FIRST).study_name)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(opened)) == 1 and len(opened) == 4
    (trial,) = optuna.load_study(study_name=opened[0], storage=url).trials
    assert trial.state == optuna.trial.TrialState.WAITING and trial.system_attrs["fixed_params"] == FIRST


def test_a_study_whose_creator_died_before_trial_0_gets_it_from_the_next_worker(paths, monkeypatch, caplog):
    url = f"sqlite:///{paths.study_db}"
    config = fast_config()
    study_name = name(config, paths)
    optuna.create_study(study_name=study_name, storage=url)  # created, then killed before enqueuing trial 0
    monkeypatch.setattr(tuning_study, "CREATION_SECONDS", 0.2)
    study = tuning_study.open_study(config, SPACE, paths, url, FIRST)
    assert [t.system_attrs["fixed_params"] for t in study.trials] == [FIRST]
    assert f"tune: study {study_name} was left without its trial 0; adding it" in caplog.text
    tuning_study.open_study(config, SPACE, paths, url, FIRST)
    assert f"tune: resuming study {study_name} (1 trial so far)" in caplog.text


def test_a_tuning_run_on_an_unreachable_server_stops_at_once_with_one_line(paths, monkeypatch):
    slept = []
    monkeypatch.setattr(studies.time, "sleep", slept.append)
    with pytest.raises(MemdevError, match=r"^cannot open the study storage postgresql://nobody:\*\*\*@127.0.0.1:1/x: "
                                          r".*Connection refused"):
        tuning_study.storage("postgresql://nobody:pw@127.0.0.1:1/x", paths)
    assert not slept  # no retries


def test_a_tuning_run_on_the_default_sqlite_file_opens_it(paths):
    assert isinstance(tuning_study.storage(None, paths), optuna.storages.RDBStorage)
    assert paths.study_db.exists()
