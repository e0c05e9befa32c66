"""The candidates a fold fits: which it fits itself, and the blend made from their scores."""

import numpy as np

from memdev.models.candidates import blend, fitted_by


def test_blend_is_the_mean_rank_in_zero_one():
    blended = blend(np.array([3.0, 1.0, 2.0]), np.array([30.0, 20.0, 10.0]))
    np.testing.assert_allclose(blended, [1.0, 0.5, 0.5])


def test_a_blend_is_fitted_through_the_candidates_it_averages():
    assert fitted_by(["memae", "devnet", "gbm", "stack", "blend"]) == ["memae", "devnet", "gbm", "stack"]
    assert fitted_by(["blend"]) == ["devnet", "stack"]
    assert fitted_by(["gbm"]) == ["gbm"]
