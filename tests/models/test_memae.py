"""The memory-augmented autoencoder: its shape, fitting, safe saving, and scoring."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from conftest import gaussian_rows
from memdev.config import MemAEConfig
from memdev.models.memae import MemAEDetector, build, extractor


def test_the_decoder_sees_only_the_memory_readout():
    model = build(6, MemAEConfig(hidden=[8], latent=3, memory_size=5))
    assert [layer.name for layer in model.layers] == ["x", "encoder", "memory", "decoder"]
    assert model.get_layer("decoder").input.shape[-1] == 3


TINY = MemAEConfig(hidden=[16], latent=4, memory_size=20, epochs=25, batch_size=64, patience=5, learning_rate=0.01)


@pytest.fixture(scope="module")
def fitted():
    """A MemAE fitted on 600 standard-normal rows."""
    return MemAEDetector(TINY, seed=0).fit(gaussian_rows(600, seed=1))


def test_a_detector_fitted_on_normal_rows_scores_shifted_rows_higher(fitted):
    normal, shifted = gaussian_rows(200, seed=2), gaussian_rows(200, shift=3.0, seed=3)
    scores = fitted.decision_function(np.vstack([normal, shifted]))
    y = np.r_[np.zeros(200), np.ones(200)]
    assert roc_auc_score(y, scores) > 0.9
    assert scores.shape == (400,) and (scores >= 0).all()


def test_training_stops_early_and_keeps_a_loss_history(fitted):
    history = fitted.history_
    assert {"loss", "val_loss"} <= set(history)
    assert 1 <= len(history["loss"]) <= TINY.epochs
    assert history["loss"][-1] < history["loss"][0]


def test_one_saved_keras_file_loads_with_safe_mode_and_scores_identically(fitted, tmp_path):
    """The frozen encoder the DevNet head uses lives inside memae.keras: no separate encoder file."""
    fitted.save(tmp_path / "memae.keras")
    loaded = MemAEDetector.load(tmp_path / "memae.keras", TINY)
    rows = gaussian_rows(50, shift=1.0, seed=4)
    np.testing.assert_array_equal(loaded.decision_function(rows), fitted.decision_function(rows))
    np.testing.assert_array_equal(loaded.features(rows)["latent"], fitted.features(rows)["latent"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["memae.keras"]  # no temp files left, no encoder.keras


def test_the_feature_extractor_is_frozen_and_returns_latent_readout_and_error(fitted):
    frozen = extractor(fitted.model_)
    assert not frozen.trainable and frozen.trainable_weights == []
    parts = fitted.features(gaussian_rows(10))
    assert parts["latent"].shape == (10, 4) and parts["readout"].shape == (10, 4) and parts["error"].shape == (10, 1)



def test_features_stream_in_small_batches_keep_the_order_of_rows_and_give_only_the_views_asked(fitted, tmp_path):
    from memdev.models.memae import predict_rows

    X = gaussian_rows(300, seed=6)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    whole = fitted.features(X)
    rows = np.r_[250, 3, 4, 5, 120, 7, 299, 0]  # unsorted, with a run of consecutive rows
    for batch_size in (1, 3, 1000):
        # batches of a few rows take other matmul kernels: the last bit may differ
        code, readout, error = predict_rows(fitted.extractor_, mapped, rows, batch_size)
        np.testing.assert_allclose(code, whole["latent"][rows], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(error, whole["error"][rows], rtol=1e-6, atol=1e-7)
    only = fitted.features(mapped, np.arange(10, 20), views=["error"])
    assert list(only) == ["error"]
    np.testing.assert_array_equal(only["error"], fitted.features(mapped, np.arange(10, 20))["error"])
    empty = fitted.features(X, np.arange(0))
    assert empty["latent"].shape == (0, 4) and empty["error"].shape == (0, 1)
