"""DevNet on the frozen MemAE: the deviation loss, balanced batches, and the scoring head."""

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from conftest import gaussian_rows
from memdev.config import HeadConfig, MemAEConfig
from memdev.models.devnet import DeviationLoss, DevNetHead, balanced_draws, head_inputs
from memdev.models.memae import MemAEDetector


def per_row(loss, y, scores):
    return keras.ops.convert_to_numpy(loss.call(np.asarray(y, np.float32), np.asarray(scores, np.float32).reshape(-1, 1)))


def test_deviation_loss_of_a_normal_row_is_its_absolute_deviation():
    values = per_row(DeviationLoss(), [0, 0, 0, 0], [-2.0, 0.0, 0.5, 7.0])
    np.testing.assert_allclose(values, [2.0, 0.0, 0.5, 7.0])


def test_deviation_loss_of_an_anomaly_is_the_shortfall_below_the_margin():
    values = per_row(DeviationLoss(), [1, 1, 1, 1], [-1.0, 3.0, 5.0, 9.0])
    np.testing.assert_allclose(values, [6.0, 2.0, 0.0, 0.0])  # max(0, 5 - dev)


def test_deviation_loss_uses_its_margin_and_averages_over_the_batch():
    loss = DeviationLoss(margin=2.0)
    np.testing.assert_allclose(per_row(loss, [1, 0], [0.5, -0.5]), [1.5, 0.5])
    assert float(loss(np.array([1.0, 0.0]), np.array([[0.5], [-0.5]]))) == pytest.approx(1.0)
    assert DeviationLoss.from_config(loss.get_config()).margin == 2.0


def imbalanced(n=1000, positives=20):
    X = np.arange(n, dtype=np.float32).reshape(-1, 1)
    y = np.zeros(n, dtype=np.int8)
    y[np.linspace(0, n - 1, positives).astype(int)] = 1
    return X, y


def test_balanced_draws_are_about_half_labeled_anomalies_and_new_every_epoch():
    _, y = imbalanced()
    draws = balanced_draws(y, batch_size=64, steps=10, epochs=2, seed=0)
    assert draws.shape == (2, 640) and draws.dtype == np.int64
    assert 0.4 < y[draws[0]].mean() < 0.6 and 0.4 < y[draws[1]].mean() < 0.6
    assert not np.array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(balanced_draws(y, batch_size=64, steps=10, epochs=2, seed=0), draws)  # seeded


def test_head_inputs_join_the_chosen_views_in_order():
    parts = {"latent": np.ones((3, 2)), "readout": np.zeros((3, 2)), "error": np.full((3, 1), 5.0)}
    X = np.full((3, 4), 7.0)
    joined = head_inputs(parts, X, ["error", "features"])
    assert joined.dtype == np.float32 and joined.shape == (3, 5)
    assert joined[0].tolist() == [5.0, 7.0, 7.0, 7.0, 7.0]


@pytest.fixture(scope="module")
def toy():
    """Normal rows N(0, 1); anomalies shifted +2.5 in the first three features only."""
    def anomalies(n, seed):
        rows = gaussian_rows(n, seed=seed)
        rows[:, :3] += 2.5
        return rows

    X = np.vstack([gaussian_rows(500, seed=1), anomalies(25, seed=2)])
    y = np.r_[np.zeros(500), np.ones(25)].astype(np.int8)
    memae = MemAEDetector(MemAEConfig(hidden=[16], latent=4, memory_size=20, epochs=5, batch_size=64), seed=0)
    memae.fit(X[y == 0])
    head = DevNetHead(HeadConfig(units=16, epochs=8, steps_per_epoch=10, batch_size=32, learning_rate=0.01), seed=0)
    head.fit(memae, X, y)
    head.memae_ = memae  # for the scoring tests
    X_new = np.vstack([gaussian_rows(200, seed=3), anomalies(50, seed=4)])
    y_new = np.r_[np.zeros(200), np.ones(50)]
    return head, X_new, y_new


def test_devnet_head_ranks_anomalies_like_the_labeled_ones_above_normal_rows(toy):
    head, X_new, y_new = toy
    scores = head.decision_function(X_new)
    assert roc_auc_score(y_new, scores) > 0.9
    # normal rows sit near the reference mean 0; anomalies are pushed towards the margin
    assert abs(np.median(scores[y_new == 0])) < 1.0
    assert np.median(scores[y_new == 1]) > 2.5
    assert head.history_["loss"][-1] < head.history_["loss"][0]


def test_the_assembled_devnet_model_saves_and_loads_with_safe_mode(toy, tmp_path):
    head, X_new, _ = toy
    head.model_.save(tmp_path / "devnet.keras")
    loaded = keras.models.load_model(tmp_path / "devnet.keras", compile=False, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(X_new, verbose=0)[0][:, 0], head.decision_function(X_new), rtol=1e-5, atol=1e-5)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in every_layer(loaded))


def every_layer(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from every_layer(layer)


@pytest.mark.parametrize("inputs, width", [(["error"], 1), (["latent", "error"], 5), (["readout", "features"], 12)])
def test_the_head_sees_only_the_configured_inputs(inputs, width):
    X = gaussian_rows(120, seed=5)
    y = np.r_[np.zeros(110), np.ones(10)].astype(np.int8)
    memae = MemAEDetector(MemAEConfig(hidden=[8], latent=4, memory_size=10, epochs=1, batch_size=64), seed=0).fit(X[y == 0])
    head = DevNetHead(HeadConfig(units=4, epochs=1, steps_per_epoch=2, batch_size=16, inputs=inputs), seed=0).fit(memae, X, y)
    assert head.model_.get_layer("devnet_head").input_shape[-1] == width
    assert head.decision_function(X).shape == (120,)


@pytest.mark.parametrize("inputs", [[], ["latent", "memory"]])
def test_head_inputs_must_name_known_views(inputs):
    from memdev.config import Config
    from memdev.errors import MemdevError

    with pytest.raises(MemdevError, match="head.inputs"):
        Config(slug="x", id_column="id", target_column="y", submission="label", regime="full", metric="f1",
               head=HeadConfig(inputs=inputs))


def test_fold_models_score_as_their_keras_models_do(toy):
    from memdev.models.candidates import FoldModels

    head, X_new, _ = toy
    rows = np.arange(3, 250, 2)
    out = FoldModels(head.memae_, head.model_).score(X_new, ["memae", "devnet"], rows, head.config.inputs)
    np.testing.assert_allclose(out["memae"], head.memae_.decision_function(X_new[rows]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["devnet"], head.decision_function(X_new, rows), rtol=1e-5, atol=1e-5)


def test_every_folds_scores_in_one_pass_are_each_folds_own(toy):
    """Members of other MemAEs, heads and row sets scored together give what each gives alone."""
    from memdev.models.candidates import FoldModels, network_outputs
    from memdev.models.memae import as_stacked

    head, X_new, y_new = toy
    X = X_new.astype(np.float32)
    config = HeadConfig(units=4, epochs=1, steps_per_epoch=2, batch_size=16, inputs=["latent", "features"])
    memaes = [head.memae_, MemAEDetector(head.memae_.config, seed=1).fit(X[y_new == 0])]
    heads = [DevNetHead(config, seed=k).fit(memae, X, y_new).model_ for k, memae in enumerate(memaes)]
    rows = [np.arange(0, 250, 3), np.arange(7, 40)]
    together = network_outputs(as_stacked(memaes), heads, X, rows, ("latent", "error"), config.inputs)
    for memae, model, r, out in zip(memaes, heads, rows, together):
        alone = FoldModels(memae, model).score(X, ["memae", "devnet"], r, config.inputs)
        assert set(out) == {"latent", "error", "devnet"}
        np.testing.assert_allclose(out["devnet"], alone["devnet"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["error"][:, 0], alone["memae"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out["latent"], memae.features(X, r, ["latent"])["latent"], rtol=1e-5, atol=1e-6)


def test_heads_trained_together_are_the_heads_trained_alone(toy):
    from memdev.models.devnet import fit_heads

    head, X_new, y_new = toy
    config = HeadConfig(units=8, epochs=3, steps_per_epoch=4, batch_size=16)
    rows = [np.arange(0, 250), np.arange(125, 250)]
    models, histories = fit_heads([head.memae_, head.memae_], X_new, rows, [y_new[r] for r in rows], config, seed=3)
    for model, history, r in zip(models, histories, rows):
        alone = DevNetHead(config, seed=3).fit(head.memae_, X_new, y_new[r], r)
        np.testing.assert_allclose(predict_rows_of(model, X_new), alone.decision_function(X_new), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(history["loss"], alone.history_["loss"], rtol=1e-4)


def predict_rows_of(model, X):
    from memdev.models.memae import predict_rows

    return predict_rows(model, X)[0][:, 0]
