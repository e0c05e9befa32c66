"""K MemAEs trained together: the same models, losses and views as K separate ones, early stopping per member."""

import dataclasses

import keras
import numpy as np
import pytest

from conftest import gaussian_rows
from memdev.config import MemAEConfig
from memdev.models.memae import MemAEDetector, build, extractor, fit_detectors
from memdev.models.stacked import StackedMemAE, fit_stacked, split

CONFIG = MemAEConfig(hidden=[12], latent=4, memory_size=10, epochs=3, batch_size=32, patience=10,
                     optimizer="sgd", learning_rate=0.01, entropy_weight=0.01)


def initial(n_features, config, seeds):
    out = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        out.append(build(n_features, config))
    return out


def test_the_stacked_loss_and_views_are_the_keras_models():
    X = gaussian_rows(50, features=6)
    models = initial(6, CONFIG, [0, 1])
    stacked = StackedMemAE(CONFIG, [m.get_weights() for m in models])
    x = np.stack([X[:25], X[25:]])
    losses = keras.ops.convert_to_numpy(stacked.member_losses(x))
    views = {name: keras.ops.convert_to_numpy(value) for name, value in stacked.views(x).items()}
    for k, model in enumerate(models):
        reconstruction = model(x[k])
        keras_loss = np.mean(np.square(x[k] - keras.ops.convert_to_numpy(reconstruction))) + float(sum(model.losses))
        assert losses[k] == pytest.approx(keras_loss, rel=1e-5)
        for name, value in zip(("latent", "readout", "error"), extractor(model).predict_on_batch(x[k])):
            np.testing.assert_allclose(views[name][k], value, rtol=1e-5, atol=1e-6)


def test_k_members_fitted_together_are_k_separate_fits():
    X = gaussian_rows(300, features=6, seed=3)
    row_sets = [np.arange(0, 200), np.arange(100, 300), np.arange(50, 250)]
    together, _ = fit_detectors(X, row_sets, CONFIG, [5, 6, 7])
    for rows, seed, detector in zip(row_sets, [5, 6, 7], together):
        alone = MemAEDetector(CONFIG, seed=seed).fit(X, rows)
        for a, b in zip(alone.model_.get_weights(), detector.model_.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(alone.history_["val_loss"], detector.history_["val_loss"], rtol=1e-4)


def test_a_member_stops_on_its_own_and_keeps_its_best_weights():
    """Member 0 reconstructs constant rows, member 1 noisy ones: they run out of patience at different epochs."""
    X = np.vstack([np.full((200, 6), 0.5, dtype=np.float32), gaussian_rows(200, features=6, seed=1)])
    config = MemAEConfig(hidden=[12], latent=4, memory_size=10, epochs=25, batch_size=32, patience=2,
                         learning_rate=0.01)
    row_sets = [np.arange(200), np.arange(200, 400)]
    seen = []
    detectors, stacked = fit_detectors(X, row_sets, config, [0, 1], on_epoch=lambda epoch, logs: seen.append(logs))
    epochs = [len(d.history_["loss"]) for d in detectors]
    assert epochs[0] != epochs[1] and max(epochs) == len(seen) < config.epochs
    assert seen[0]["members"] == 2 and seen[-1]["members"] == 1
    # each kept the weights of its best validation loss, not its last
    val_rows = [split(rows, config.validation_split, seed)[1] for rows, seed in zip(row_sets, [0, 1])]
    kept = keras.ops.convert_to_numpy(stacked.member_losses(np.stack([X[rows] for rows in val_rows])))
    for k, detector in enumerate(detectors):
        assert kept[k] == pytest.approx(min(detector.history_["val_loss"]), rel=1e-4)
        assert kept[k] < detector.history_["val_loss"][-1]


def test_large_data_trains_as_many_epochs_as_the_step_budget_holds():
    X = gaussian_rows(400, features=6, seed=4)
    config = MemAEConfig(hidden=[8], latent=4, memory_size=10, epochs=10, batch_size=32, max_steps=25,
                         validation_split=0.0)
    epochs = {}
    for budget in (25, 0):  # 400 rows: 13 steps an epoch, so 2 epochs hold 25 steps; 0: no budget
        (detector,), _ = fit_detectors(X, [np.arange(400)], dataclasses.replace(config, max_steps=budget), [0])
        epochs[budget] = len(detector.history_["loss"])
    assert epochs == {25: 2, 0: 10}


def test_a_memory_mapped_matrix_trains_the_same_models_as_the_array(tmp_path):
    X = gaussian_rows(240, features=5, seed=2)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    row_sets = [np.arange(0, 240, 2), np.arange(1, 240, 2)]
    weights = [m.get_weights() for m in initial(5, CONFIG, [0, 1])]
    a, _ = fit_stacked(X, row_sets, CONFIG, [0, 1], weights)
    b, _ = fit_stacked(mapped, row_sets, CONFIG, [0, 1], weights)
    for x, y in zip(a.snapshot(), b.snapshot()):
        np.testing.assert_array_equal(x, y)


def test_the_same_seeds_give_the_same_weights_to_the_bit_with_and_without_xla():
    X = gaussian_rows(200, features=5, seed=4)
    row_sets = [np.arange(150), np.arange(50, 200)]
    weights = [m.get_weights() for m in initial(5, CONFIG, [0, 1])]
    for jit_compile in (False, True):
        first, history = fit_stacked(X, row_sets, CONFIG, [0, 1], weights, jit_compile=jit_compile)
        second, _ = fit_stacked(X, row_sets, CONFIG, [0, 1], weights, jit_compile=jit_compile)
        assert history.jit_compile is jit_compile
        for x, y in zip(first.snapshot(), second.snapshot()):
            np.testing.assert_array_equal(x, y)


def test_every_members_views_are_its_own_extractors(tmp_path):
    X = gaussian_rows(500, features=6, seed=5)
    row_sets = [np.arange(0, 500, 2), np.arange(1, 500, 2)[::-1], np.arange(0)]
    detectors, stacked = fit_detectors(X, [np.arange(300), np.arange(200, 500), np.arange(100, 400)], CONFIG, [0, 1, 2])
    views = stacked.features(X, row_sets)
    for rows, detector, view in zip(row_sets, detectors, views):
        own = detector.features(X, rows)
        for name in ("latent", "readout", "error"):
            assert view[name].shape == own[name].shape
            np.testing.assert_allclose(view[name], own[name], rtol=1e-5, atol=1e-6)
    only = stacked.features(X, row_sets[:1] * 3, ["error"])
    assert list(only[0]) == ["error"]
