"""DevNet fine-tuning (Pang et al., KDD 2019) on the frozen MemAE encoder.

A small head maps what the frozen MemAE sees of a row (latent code, memory
read-out, reconstruction error, and optionally the features themselves) to
an anomaly score φ(x), trained with the deviation loss against a N(0, 1)
reference: normal rows are pulled to the reference mean, labeled anomalies
pushed at least ``margin`` standard deviations above it.
"""

from __future__ import annotations

import keras
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from keras import layers, ops

from .config import HeadConfig
from .memae import MemAEDetector, extractor, optimizer

VARIANCE_FLOOR = 0.01


@keras.saving.register_keras_serializable(package="memdev")
class DeviationLoss(keras.losses.Loss):
    """(1 − y)·|dev| + y·max(0, a − dev), dev = (φ(x) − μ_R) / σ_R with μ_R = 0, σ_R = 1."""

    def __init__(self, margin: float = 5.0, name: str = "deviation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, (-1,)), y_pred.dtype)
        deviation = ops.reshape(y_pred, (-1,))
        return (1.0 - y_true) * ops.abs(deviation) + y_true * ops.relu(self.margin - deviation)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


class BalancedBatches(keras.utils.PyDataset):
    """Batches half labeled anomalies, half the rest, redrawn every epoch.

    imbalanced-learn's ``RandomOverSampler`` balances the two classes; the
    balanced set is shuffled and cut into ``steps`` batches.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, steps: int, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.X, self.y = X, y
        self.batch_size, self.steps, self.seed = batch_size, steps, seed
        self.epoch = 0
        self._draw()

    def _draw(self) -> None:
        sampler = RandomOverSampler(random_state=self.seed + self.epoch)
        index, _ = sampler.fit_resample(np.arange(len(self.y)).reshape(-1, 1), self.y)
        rng = np.random.default_rng(self.seed + self.epoch)
        need = self.batch_size * self.steps
        self.index = rng.choice(index[:, 0], size=need, replace=len(index) < need)

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, i: int):
        rows = self.index[i * self.batch_size:(i + 1) * self.batch_size]
        return self.X[rows], self.y[rows].astype(np.float32)

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._draw()


def head_inputs(parts: dict[str, np.ndarray], X: np.ndarray, names: list[str]) -> np.ndarray:
    """Concatenate the chosen views of the frozen MemAE (and the features)."""
    views = {**parts, "features": np.asarray(X)}
    return np.concatenate([views[name] for name in names], axis=1).astype(np.float32)


class DevNetHead:
    """A deviation-loss scoring head on a frozen, pretrained MemAE.

    ``fit`` precomputes the frozen MemAE's outputs once (the encoder is not
    trained, so this equals running it inside every step) and trains the
    head on balanced batches; ``model_`` is the assembled end-to-end scorer.
    """

    def __init__(self, config: HeadConfig, seed: int = 0, verbose: int = 0):
        self.config = config
        self.seed = seed
        self.verbose = verbose

    def fit(self, memae: MemAEDetector, X: np.ndarray, y: np.ndarray) -> "DevNetHead":
        cfg = self.config
        keras.utils.set_random_seed(self.seed)
        frozen = extractor(memae.model_)
        frozen.trainable = False
        inputs = head_inputs(memae.features(X), X, cfg.inputs)
        # a column (nearly) constant in this fold would be divided by ~0 and blow
        # up on held-out rows: floor its standard deviation at 0.1
        normalise = layers.Normalization(
            mean=inputs.mean(axis=0), variance=np.maximum(inputs.var(axis=0), VARIANCE_FLOOR), name="normalise"
        )
        head = keras.Sequential(
            [keras.Input((inputs.shape[1],)), normalise,
             layers.Dense(cfg.units, activation="relu"), layers.Dense(1, name="deviation")],
            name="devnet_head",
        )
        head.compile(optimizer=optimizer(cfg.optimizer, cfg.learning_rate), loss=DeviationLoss(cfg.margin))
        batches = BalancedBatches(inputs, np.asarray(y), cfg.batch_size, cfg.steps_per_epoch, self.seed)
        self.history_ = head.fit(batches, epochs=cfg.epochs, verbose=self.verbose).history
        self.model_ = _assemble(frozen, head, cfg.inputs)
        return self

    def decision_function(self, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        return self.model_.predict(X, batch_size=batch_size, verbose=0)[:, 0]


def _assemble(frozen: keras.Model, head: keras.Model, names: list[str]) -> keras.Model:
    x = keras.Input((frozen.input_shape[-1],), name="x")
    code, readout, error = frozen(x, training=False)
    views = {"latent": code, "readout": readout, "error": error, "features": x}
    chosen = [views[name] for name in names]
    joined = layers.Concatenate(name="head_inputs")(chosen) if len(chosen) > 1 else chosen[0]
    model = keras.Model(x, head(joined), name="devnet")
    return model
