"""The competition config: a YAML file the user edits, checked on load."""

import pytest
import yaml

from conftest import fast_config
from memdev import config as config_io
from memdev.config import Config
from memdev.errors import MemdevError


def minimal(**changes) -> dict:
    data = {"slug": "c", "id_column": "id", "target_column": "y", "submission": "label", "regime": "full", "metric": "f1"}
    data.update(changes)
    return data


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_save_then_load_gives_back_the_same_config(tmp_path):
    config = fast_config(seed=7, label_map={"yes": 1, "no": 0}, search_space={"memae.shrink": {"low": 1.0, "high": 2.0}})
    config.threshold.strategy = "max_normal"
    config_io.save(config, tmp_path / "config.yaml")
    loaded = config_io.load(tmp_path / "config.yaml")
    assert loaded == config
    assert loaded.digest() == config.digest()


def test_saved_config_starts_with_a_comment_for_the_user(tmp_path):
    config_io.save(fast_config(), tmp_path / "config.yaml")
    assert (tmp_path / "config.yaml").read_text().startswith("# memdev competition config")


def test_keys_left_out_take_the_package_defaults(tmp_path):
    loaded = config_io.load(write_yaml(tmp_path / "c.yaml", minimal(memae={"epochs": 3})))
    assert loaded.memae.epochs == 3
    assert loaded.memae.memory_size == 50 and loaded.head.margin == 5.0 and loaded.folds == 5


@pytest.mark.parametrize("data, key", [
    (minimal(colour="red"), "colour"),
    (minimal(memae={"epochz": 3}), "epochz"),
    (minimal(head={"margins": 5}), "margins"),
    (minimal(threshold={"quantil": 0.9}), "quantil"),
])
def test_an_unknown_key_is_an_error_naming_the_key(tmp_path, data, key):
    path = write_yaml(tmp_path / "c.yaml", data)
    with pytest.raises(MemdevError, match=f"unknown key '{key}'") as info:
        config_io.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("changes, key, value", [
    ({"regime": "semi"}, "regime", "semi"),
    ({"metric": "auc"}, "metric", "auc"),
    ({"submission": "probability"}, "submission", "probability"),
    ({"memae": {"optimizer": "lbfgs"}}, "memae.optimizer", "lbfgs"),
    ({"head": {"optimizer": "Adam!"}}, "head.optimizer", "Adam!"),
    ({"threshold": {"strategy": "median"}}, "threshold.strategy", "median"),
    ({"stacking": "maybe"}, "stacking", "maybe"),
])
def test_a_bad_value_is_an_error_naming_key_value_and_the_choices(tmp_path, changes, key, value):
    with pytest.raises(MemdevError, match=f"{key} is '{value}'; expected one of") as info:
        config_io.load(write_yaml(tmp_path / "c.yaml", minimal(**changes)))
    assert "," in str(info.value).split("expected one of")[1]


def test_a_labeled_regime_without_a_target_column_is_refused():
    with pytest.raises(MemdevError, match="needs a target column"):
        Config.from_dict(minimal(target_column=None))


def test_fewer_than_two_folds_is_refused():
    with pytest.raises(MemdevError, match="folds is 1"):
        Config.from_dict(minimal(folds=1))


def test_a_missing_required_key_is_a_memdev_error(tmp_path):
    data = minimal()
    del data["metric"]
    with pytest.raises(MemdevError, match="metric"):
        config_io.load(write_yaml(tmp_path / "c.yaml", data))


def test_a_config_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(MemdevError, match="expected a mapping"):
        config_io.load(path)


def test_invalid_yaml_and_a_missing_file_are_memdev_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("slug: [unclosed\n")
    with pytest.raises(MemdevError, match="not valid YAML"):
        config_io.load(path)
    with pytest.raises(MemdevError, match="make data"):
        config_io.load(tmp_path / "absent.yaml")


def test_with_params_replaces_dotted_and_top_level_keys_in_a_copy():
    config = fast_config()
    changed = config.with_params({"memae.memory_size": 123, "head.margin": 3.5, "threshold.strategy": "contamination",
                                  "seed": 9})
    assert (changed.memae.memory_size, changed.head.margin, changed.threshold.strategy, changed.seed) == (123, 3.5, "contamination", 9)
    assert config.memae.memory_size == 10 and config.seed == 0  # the original is untouched
    assert changed.digest() != config.digest()


def test_with_params_refuses_an_unknown_parameter_and_checks_values():
    with pytest.raises(MemdevError, match="unknown parameter 'memae.size'"):
        fast_config().with_params({"memae.size": 3})
    with pytest.raises(MemdevError, match="memae.optimizer is 'lbfgs'"):
        fast_config().with_params({"memae.optimizer": "lbfgs"})


def test_load_applies_tuned_parameters_from_best_params(tmp_path):
    path = write_yaml(tmp_path / "c.yaml", minimal())
    best = write_yaml(tmp_path / "best_params.yaml", {"study": "s", "trial": 3, "params": {"memae.shrink": 2.5}})
    assert config_io.load(path, best).memae.shrink == 2.5
    assert config_io.load(path, tmp_path / "absent.yaml").memae.shrink == 1.0


def test_default_threshold_strategy_is_the_metrics_own_cut_with_labels_pu_with_a_few_and_quantile_without():
    assert fast_config().threshold_strategy == "f1"
    assert fast_config(metric="balanced_accuracy").threshold_strategy == "balanced_accuracy"
    assert fast_config(metric="average_precision", submission="score").threshold_strategy == "f1"
    assert fast_config(regime="weak", metric="mcc").threshold_strategy == "pu"
    assert fast_config(regime="novelty", target_column=None).threshold_strategy == "quantile"


def test_a_submission_kind_that_does_not_suit_the_metric_is_named_in_one_line():
    assert Config(**minimal()).clash == "" and Config(**minimal(submission="score", metric="roc_auc")).clash == ""
    # a sample of zeros on a ranking metric's page: labels would tie every row in two ranks
    assert "submission is label but metric roc_auc ranks scores" in Config(**minimal(metric="roc_auc")).clash
    assert "submission is score but metric f1 counts 0/1 labels" in Config(**minimal(submission="score")).clash


def test_the_digest_changes_with_what_changes_a_model_only():
    config = fast_config()
    assert config.with_params({"head.units": 9}).digest() != config.digest()
    assert config.with_params({"scorers": ["devnet"], "search_space": {"memae.latent": {"high": 8}}}).digest() == config.digest()


@pytest.mark.parametrize("value", [-1, 1.5, "two"])
def test_thread_counts_are_whole_numbers_from_zero(value):
    with pytest.raises(MemdevError, match=r"threads.boosting is .*; expected a whole number >= 0"):
        Config.from_dict(minimal(threads={"boosting": value}))
    assert Config.from_dict(minimal(threads={"tuning": 1})).threads.tuning == 1


def test_the_default_threshold_strategy_builds_the_same_models_as_the_strategy_it_resolves_to():
    config = fast_config()  # labeled, no strategy set: 'f1'
    assert config.digest() == config.with_params({"threshold.strategy": "f1"}).digest()
    assert config.digest() != config.with_params({"threshold.strategy": "quantile"}).digest()


def test_a_key_edited_in_the_config_after_tuning_takes_the_edited_value_and_says_so(tmp_path, caplog):
    tuned = {"study": "s", "trial": 3, "params": {"memae.shrink": 2.5, "head.units": 24},
             "config": {"memae.shrink": 1.0, "head.units": 20}}  # the config's own values when tuned
    best = write_yaml(tmp_path / "best_params.yaml", tuned)
    path = write_yaml(tmp_path / "c.yaml", minimal())
    assert (config_io.load(path, best).head.units, config_io.load(path, best).memae.shrink) == (24, 2.5)
    assert not caplog.records
    write_yaml(path, minimal(head={"units": 40}))
    loaded = config_io.load(path, best)
    assert (loaded.head.units, loaded.memae.shrink) == (40, 2.5)  # the edit wins; the key not edited stays tuned
    assert "head.units edited in the config since `make tune`" in caplog.text
    # a record of an older memdev, without the config's values: every tuned value applies, as it always did
    write_yaml(best, {key: value for key, value in tuned.items() if key != "config"})
    assert config_io.load(path, best).head.units == 24


def test_stacking_on_and_off_written_bare_in_yaml_are_read_as_written(tmp_path):
    path = tmp_path / "c.yaml"
    for bare in ("on", "off"):
        path.write_text(yaml.safe_dump(minimal()) + f"stacking: {bare}\n", encoding="utf-8")
        assert config_io.load(path).stacking == bare
