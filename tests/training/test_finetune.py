"""Fine-tuning: which candidates compete in each regime, and how the winner is chosen."""

import numpy as np

from conftest import fast_config
from memdev.training import finetune


def test_candidates_depend_on_the_labels_and_the_stacking_switch():
    y = np.r_[0, 0, 1]
    assert finetune.candidates(fast_config(stacking="auto"), y) == ["memae", "devnet", "gbm", "stack", "blend"]
    assert finetune.candidates(fast_config(stacking="off"), y) == ["memae", "devnet"]
    assert finetune.candidates(fast_config(regime="novelty", target_column=None), np.zeros(3)) == ["memae"]
    assert finetune.candidates(fast_config(), np.zeros(3)) == ["memae"]  # labeled regime, but no 1 in these rows


def test_select_picks_the_candidate_with_the_best_cv_metric():
    rng = np.random.default_rng(0)
    y = (np.arange(200) % 10 == 0).astype(int)
    oof = {"memae": rng.random(200), "devnet": y + rng.random(200) * 0.5, "stack": y * 0.3 + rng.random(200)}
    chosen, values = finetune.select(fast_config(stacking="auto"), y, oof)
    assert chosen == "devnet" and values["devnet"] == 1.0 and set(values) == set(oof)
    assert finetune.select(fast_config(stacking="on"), y, oof)[0] == "stack"
    assert finetune.select(fast_config(regime="novelty", target_column=None), y, oof) == ("memae", {})
