"""The memory unit: sparse addressing that never collapses, its entropy loss, its config."""

import keras
import numpy as np
import pytest

from memdev.models.memory import MemoryUnit


def addressing(shrink: float, memory_size: int = 50, rows: int = 400, seed: int = 0) -> np.ndarray:
    """The addressing weights of a freshly built memory for tanh codes (as the encoder emits)."""
    keras.utils.set_random_seed(seed)  # the same memory for every shrink
    unit = MemoryUnit(memory_size, shrink=shrink)
    unit.build((None, 16))
    codes = np.tanh(np.random.default_rng(seed).normal(size=(rows, 16))).astype(np.float32)
    return keras.ops.convert_to_numpy(unit.addressing(codes))


@pytest.mark.parametrize("shrink", [0.0, 0.5, 1.0])
def test_addressing_weights_are_nonnegative_and_sum_to_one(shrink):
    weights = addressing(shrink)
    assert weights.shape == (400, 50)
    assert (weights >= 0).all()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_a_larger_shrink_threshold_gives_sparser_addressing():
    zeros = [float((addressing(shrink) == 0).mean()) for shrink in (0.0, 0.5, 1.0)]
    assert zeros[0] == 0.0  # a softmax alone addresses every slot
    assert zeros[0] < zeros[1] < zeros[2]
    assert zeros[2] > 0.3  # λ = 1/N already drops a large share of slots


@pytest.mark.parametrize("shrink", [2.0, 3.0])
def test_addressing_never_collapses_to_all_zero_within_the_papers_shrink_range(shrink):
    weights = addressing(shrink)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_memory_unit_config_roundtrips():
    unit = MemoryUnit(12, shrink=2.0, entropy_weight=0.01, name="memory")
    clone = MemoryUnit.from_config(unit.get_config())
    assert (clone.memory_size, clone.shrink, clone.entropy_weight, clone.name) == (12, 2.0, 0.01, "memory")


def test_the_entropy_of_the_addressing_is_added_to_the_loss():
    keras.utils.set_random_seed(0)
    codes = np.tanh(np.random.default_rng(0).normal(size=(32, 4))).astype(np.float32)
    with_entropy, without = MemoryUnit(10, entropy_weight=1.0), MemoryUnit(10, entropy_weight=0.0)
    with_entropy(codes), without(codes)
    assert len(with_entropy.losses) == 1 and float(with_entropy.losses[0]) > 0
    assert len(without.losses) == 0
