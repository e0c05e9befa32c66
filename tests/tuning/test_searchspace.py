"""The search space: the package's, overrides from the config (checked before any trial), widened to hold
the config's own values (trial 0)."""

import numpy as np
import pytest

from conftest import fast_config
from memdev import config as config_io
from memdev.errors import MemdevError
from memdev.tuning import searchspace


@pytest.mark.parametrize("override, message", [
    ({"memae.nonsense": {"low": 1, "high": 2}}, "unknown parameter 'memae.nonsense'"),
    ({"memae.memory_size": {"low": 100, "high": 10}}, "low 100 > high 10"),
    ({"memae.optimizer": {"choices": ["adam", "lbfgs"]}}, "unknown choice 'lbfgs'"),
])
def test_a_bad_search_space_is_refused_before_any_trial(tiny, override, message):
    config = config_io.load(tiny.config).with_params({"search_space": override})
    with pytest.raises(MemdevError, match=message):
        searchspace.search_space(config, np.array([0, 1, 0]))


def test_the_space_is_widened_to_hold_any_valid_config():
    config = config_io.Config.from_dict({
        "slug": "t", "id_column": "id", "target_column": "y", "submission": "label", "regime": "full", "metric": "f1",
        "memae": {"optimizer": "nadam", "latent": 100, "entropy_weight": 0.0, "learning_rate": 0.05},
        "threshold": {"strategy": "quantile"},
    })
    space = searchspace.search_space(config, np.array([0] * 9 + [1]))
    params = searchspace.config_params(config, space)
    assert space["memae.optimizer"]["choices"][-1] == "nadam" and space["memae.latent"]["high"] == 100
    assert space["memae.entropy_weight"] == {"low": 0.0, "high": 1e-2, "log": False}  # no log scale reaches 0
    assert space["memae.learning_rate"]["high"] == 0.05 and "quantile" in space["threshold.strategy"]["choices"]
    assert params["threshold.strategy"] == "quantile" and "threshold.contamination" not in params
    for key, value in params.items():
        spec = space[key]
        assert value in spec["choices"] if "choices" in spec else spec["low"] <= value <= spec["high"]
    assert searchspace.search_space(fast_config(), np.array([0] * 9 + [1])) == searchspace.search_space(fast_config(), np.array([0] * 9 + [1]))


def test_the_threshold_is_searched_between_the_metrics_own_cut_and_a_share():
    space = searchspace.search_space(fast_config(metric="mcc"), np.array([0] * 9 + [1]))
    assert space["threshold.strategy"]["choices"] == ["mcc", "contamination"]
