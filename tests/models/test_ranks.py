"""Scores combined by rank: the blend and the ensembles' weighted mixes."""

import numpy as np

from memdev.models.ranks import blend, rank_mix


def test_blend_is_the_mean_rank_in_zero_one():
    blended = blend(np.array([3.0, 1.0, 2.0]), np.array([30.0, 20.0, 10.0]))
    np.testing.assert_allclose(blended, [1.0, 0.5, 0.5])


def test_rank_mix_weights_each_candidates_ranks():
    mixed = rank_mix({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([3.0, 2.0, 1.0])}, {"a": 0.75, "b": 0.25})
    np.testing.assert_allclose(mixed, [0.75 / 3 + 0.25, 0.5 + 0.25 * 2 / 3, 0.75 + 0.25 / 3])


def test_rank_mix_ranks_against_reference_scores_so_a_share_of_anomalous_rows_is_kept():
    reference = {"a": np.arange(100.0), "b": np.arange(100.0)}
    normal, anomalous = np.full(9, 50.0), np.full(1, 500.0)  # 10% anomalous, as the test rows of a novelty set
    mixed = rank_mix({"a": np.r_[normal, anomalous], "b": np.r_[normal, anomalous]}, {"a": 0.5, "b": 0.5}, reference)
    np.testing.assert_allclose(mixed, np.r_[np.full(9, 0.51), 1.0])  # the outlier ranks above every reference score
