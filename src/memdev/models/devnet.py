"""DevNet fine-tuning (Pang et al., KDD 2019) on the frozen MemAE encoder.

A small head maps the views of a row chosen by ``head.inputs`` (the frozen
MemAE's latent code, memory read-out and reconstruction error, and the
features themselves) to an anomaly score φ(x), trained with the deviation
loss against a N(0, 1) reference: normal rows are pulled to the reference
mean, labeled anomalies pushed at least ``margin`` standard deviations above
it. The default is the features and the reconstruction error: on nested CV
(the head-input ablation in BENCHMARKS.md) it is within noise of the features
alone and ahead of all four views, and it keeps the frozen MemAE in the head.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from keras import layers, ops

from memdev.config import HeadConfig
from memdev.models.memae import SCORE_BATCH, VIEWS, MemAEDetector, extractor, optimizer, predict_rows

VARIANCE_FLOOR = 0.01
BLOCK_ROWS = 65536


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


def head_inputs(parts: dict[str, np.ndarray], X: np.ndarray, names: list[str],
                rows: np.ndarray | None = None) -> np.ndarray:
    """Join the chosen views of the frozen MemAE (and the features of ``X[rows]``) side by side.

    Filled in place, block by block: on millions of rows a copy of ``X[rows]``
    beside the result would double the memory this needs.
    """
    views = {**parts, "features": X}
    edges = np.cumsum([0] + [views[name].shape[1] for name in names])
    out = np.empty((len(X) if rows is None else len(rows), edges[-1]), dtype=np.float32)
    for name, start, stop in zip(names, edges[:-1], edges[1:]):
        if name == "features" and rows is not None:
            for i in range(0, len(rows), BLOCK_ROWS):
                out[i:i + BLOCK_ROWS, start:stop] = X[rows[i:i + BLOCK_ROWS]]
        else:
            out[:, start:stop] = views[name]
    return out


def column_variance(inputs: np.ndarray, block: int = 16) -> np.ndarray:
    """``inputs.var(axis=0)``, the same numbers, a few columns at a time (a bounded temporary)."""
    return np.concatenate([inputs[:, j:j + block].var(axis=0) for j in range(0, inputs.shape[1], block)])


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

    def fit(self, memae: MemAEDetector, X: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None) -> "DevNetHead":
        """Train on ``X[rows]`` (all rows by default); ``y`` holds those rows' labels."""
        cfg = self.config
        keras.utils.set_random_seed(self.seed)
        frozen = extractor(memae.model_)
        frozen.trainable = False
        inputs = head_inputs(memae.features(X, rows, [v for v in VIEWS if v in cfg.inputs]), X, cfg.inputs, rows)
        # a column (nearly) constant in this fold would be divided by ~0 and blow
        # up on held-out rows: floor its standard deviation at 0.1
        normalise = layers.Normalization(
            mean=inputs.mean(axis=0), variance=np.maximum(column_variance(inputs), VARIANCE_FLOOR), name="normalise"
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

    def decision_function(self, X: np.ndarray, rows: np.ndarray | None = None,
                          batch_size: int = SCORE_BATCH) -> np.ndarray:
        """φ(x) of ``X[rows]`` (all rows by default), streamed batch by batch."""
        return predict_rows(self.model_, X, rows, batch_size)[0][:, 0]


def _assemble(frozen: keras.Model, head: keras.Model, names: list[str]) -> keras.Model:
    """x -> [φ(x), latent, readout, error]: the score, and the frozen MemAE's views it was computed from.

    Scoring wants the MemAE's error beside φ(x), and φ(x) already computes it:
    one pass gives both instead of running the MemAE twice.
    """
    x = keras.Input((frozen.input_shape[-1],), name="x")
    code, readout, error = frozen(x, training=False)
    views = {"latent": code, "readout": readout, "error": error, "features": x}
    chosen = [views[name] for name in names]
    joined = layers.Concatenate(name="head_inputs")(chosen) if len(chosen) > 1 else chosen[0]
    return keras.Model(x, [head(joined), code, readout, error], name="devnet")


_SCORERS: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def scorer(model: keras.Model, memae: MemAEDetector, views: tuple[str, ...] = ("error",)) -> keras.Model | None:
    """x -> [φ(x), *views] from one pass of an assembled DevNet model.

    A view of the model's own outputs (the numbers are the same to the bit),
    built once per model and kept while the model lives. None where the
    model's frozen MemAE is not ``memae`` (other weights), or the model
    returns φ(x) alone (saved before it returned its views): score in two
    passes then.
    """
    if len(model.outputs) != 1 + len(VIEWS) or not _same_weights(model.get_layer("memae_features"), memae.model_):
        return None
    views = tuple(views)
    cache = _SCORERS.setdefault(model, {})
    if views not in cache:
        outputs = [model.outputs[0]] + [model.outputs[1 + VIEWS.index(view)] for view in views]
        cache[views] = keras.Model(model.inputs, outputs, name="devnet_scorer")
    return cache[views]


def _same_weights(frozen: keras.Model, memae: keras.Model) -> bool:
    """Whether the frozen MemAE inside a DevNet model holds ``memae``'s weights (a few thousand numbers)."""
    ours, theirs = frozen.weights, memae.weights
    return len(ours) == len(theirs) and all(
        a is b or (a.shape == b.shape and np.array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)))
        for a, b in zip(ours, theirs))
