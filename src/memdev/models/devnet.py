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

import keras
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from keras import layers, ops
from sklearn.preprocessing import StandardScaler

from memdev.config import HeadConfig
from memdev.models.loop import CompiledLoop, optimizer, stacked_dense
from memdev.models.memae import SCORE_BATCH, MemAEDetector, as_stacked, extractor, predict_rows
from memdev.models.stacked import VIEWS, StackedMemAE

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


def balanced_draws(y: np.ndarray, batch_size: int, steps: int, epochs: int, seed: int) -> np.ndarray:
    """Positions in ``y`` of every epoch's batches, half labeled anomalies, half the rest.

    imbalanced-learn's ``RandomOverSampler`` balances the two classes; each
    epoch draws ``steps * batch_size`` positions from the balanced set
    (seeded by ``seed + epoch``). Returns shape (epochs, steps * batch_size):
    epoch e's batch i is ``[e, i * batch_size:(i + 1) * batch_size]``.
    """
    need = batch_size * steps
    out = np.empty((epochs, need), dtype=np.int64)
    for epoch in range(epochs):
        index, _ = RandomOverSampler(random_state=seed + epoch).fit_resample(np.arange(len(y)).reshape(-1, 1), y)
        rng = np.random.default_rng(seed + epoch)
        out[epoch] = rng.choice(index[:, 0], size=need, replace=len(index) < need)
    return out


def member_draws(labels: list[np.ndarray], config: HeadConfig, seed: int) -> list[np.ndarray]:
    """Each member's :func:`balanced_draws` for ``config``'s batches and epochs."""
    return [balanced_draws(y, config.batch_size, config.steps_per_epoch, config.epochs, seed) for y in labels]


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


class DevNetHead:
    """A deviation-loss scoring head on a frozen, pretrained MemAE.

    ``fit`` trains the head on balanced batches of the frozen MemAE's
    outputs (the encoder is not trained, so computing them once equals
    running it inside every step); ``model_`` is the assembled end-to-end
    scorer x -> [φ(x), latent, readout, error].
    """

    def __init__(self, config: HeadConfig, seed: int = 0):
        self.config = config
        self.seed = seed

    def fit(self, memae: MemAEDetector, X: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None) -> "DevNetHead":
        """Train on ``X[rows]`` (all rows by default); ``y`` holds those rows' labels (a one-member :func:`fit_heads`)."""
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        (self.model_,), (self.history_,) = fit_heads([memae], X, [rows], [np.asarray(y)], self.config, self.seed)
        return self

    def decision_function(self, X: np.ndarray, rows: np.ndarray | None = None,
                          batch_size: int = SCORE_BATCH) -> np.ndarray:
        """φ(x) of ``X[rows]`` (all rows by default), streamed batch by batch."""
        return predict_rows(self.model_, X, rows, batch_size)[0][:, 0]


def fit_heads(memaes: list[MemAEDetector], X: np.ndarray, row_sets: list[np.ndarray], labels: list[np.ndarray],
              config: HeadConfig, seed: int = 0, stacked: StackedMemAE | None = None,
              draws: list[np.ndarray] | None = None) -> tuple[list, list]:
    """One DevNet head per member (fold), trained together in a :class:`~memdev.models.loop.CompiledLoop`.

    Parameters
    ----------
    memaes : list of MemAEDetector
        Member k's frozen MemAE.
    X : ndarray or memmap, shape (n, F)
    row_sets : list of ndarray
        Member k's training rows.
    labels : list of ndarray
        Their labels (1: labeled anomaly).
    config : HeadConfig
    seed : int
        The heads' initial weights and batch draws (the same for every member).
    stacked : StackedMemAE, optional
        ``memaes`` stacked (:func:`~memdev.models.memae.as_stacked`), if at hand.
    draws : list of ndarray, optional
        :func:`member_draws` of ``labels``, if at hand (tuning's trials share them).

    Returns
    -------
    models : list of keras.Model
        Member k's assembled scorer x -> [φ(x), latent, readout, error].
    histories : list of dict
        ``{"loss": [...]}``, member k's mean loss of each epoch.

    Notes
    -----
    The steps only ever see the rows the balanced draws pick (at most
    epochs x steps x batch per member), so only those rows' inputs are
    materialised; the normalisation statistics of all training rows are
    accumulated block by block. Memory stays bounded on millions of rows.
    """
    stacked = stacked or as_stacked(memaes)
    draws = draws or member_draws(labels, config, seed)
    used = [np.unique(d) for d in draws]  # positions in each member's rows that some batch draws
    heads, statistics = _heads(stacked, X, row_sets, config, seed)
    drawn = _inputs(stacked, X, [rows[u] for rows, u in zip(row_sets, used)], config.inputs)
    for inputs, (mean, variance) in zip(drawn, statistics):  # what the heads' Normalization does, once
        inputs -= mean
        inputs /= np.maximum(np.sqrt(variance), keras.config.epsilon())
    shape = (config.epochs, config.steps_per_epoch, config.batch_size)
    positions = [np.searchsorted(u, d).reshape(shape) for u, d in zip(used, draws)]
    losses = _train(heads, drawn, [np.asarray(y)[u].astype(np.float32) for y, u in zip(labels, used)], positions, config)
    models = []
    for memae, head in zip(memaes, heads):
        frozen = extractor(memae.model_)
        frozen.trainable = False
        models.append(_assemble(frozen, head, config.inputs))
    return models, [{"loss": [float(loss) for loss in member]} for member in losses.T]


def _head(width: int, config: HeadConfig, mean: np.ndarray, variance: np.ndarray) -> keras.Model:
    """Normalization (fixed statistics) -> Dense(units, relu) -> Dense(1): φ of the joined inputs."""
    return keras.Sequential(
        [keras.Input((width,)), layers.Normalization(mean=mean, variance=variance, name="normalise"),
         layers.Dense(config.units, activation="relu"), layers.Dense(1, name="deviation")],
        name="devnet_head",
    )


def _heads(stacked: StackedMemAE, X: np.ndarray, row_sets: list[np.ndarray], config: HeadConfig,
           seed: int) -> tuple[list[keras.Model], list[tuple[np.ndarray, np.ndarray]]]:
    """Member k's untrained head, normalising by its rows' statistics, and those statistics (mean, variance)."""
    heads, statistics = [], []
    for scaler in _statistics(stacked, X, row_sets, config.inputs):
        mean = scaler.mean_.astype(np.float32)
        # a column (nearly) constant in this fold would be divided by ~0 and blow
        # up on held-out rows: floor its standard deviation at 0.1
        variance = np.maximum(scaler.var_, VARIANCE_FLOOR).astype(np.float32)
        keras.utils.set_random_seed(seed)  # every fold's head starts from the same weights
        heads.append(_head(len(mean), config, mean, variance))
        statistics.append((mean, variance))
    return heads, statistics


def _train(heads: list[keras.Model], inputs: list[np.ndarray], labels: list[np.ndarray], positions: list[np.ndarray],
           config: HeadConfig) -> np.ndarray:
    """Train the heads' Dense layers, stacked; returns each epoch's mean loss per member, shape (epochs, K).

    Member k's step i of epoch e trains on ``inputs[k][positions[k][e, i]]``
    (normalised already) and those rows' ``labels[k]``.
    """
    variables = [keras.Variable(np.stack(parts)) for parts in zip(*[head.get_weights()[-4:] for head in heads])]
    deviation = DeviationLoss(config.margin)

    def member_loss(x, y):
        score = stacked_dense(x, variables, None)[..., 0]
        return ops.mean(ops.reshape(deviation.call(y, score), ops.shape(y)), axis=1)

    loop = CompiledLoop(variables, member_loss, optimizer(config.optimizer, config.learning_rate))
    losses = []
    for epoch in range(config.epochs):  # one compiled call per epoch: (steps, K, batch, ...)
        at = [p[epoch] for p in positions]
        losses.append(loop.run(np.stack([x[i] for x, i in zip(inputs, at)], axis=1),
                               np.stack([y[i] for y, i in zip(labels, at)], axis=1)))
    final = [variable.numpy() for variable in variables]
    for k, head in enumerate(heads):
        head.set_weights(head.get_weights()[:-4] + [value[k] for value in final])
    return np.array(losses)


def _statistics(stacked: StackedMemAE, X: np.ndarray, row_sets: list[np.ndarray], names: list[str]) -> list:
    """Each member's mean and variance of its head inputs over all its rows, accumulated block by block."""
    views = [v for v in VIEWS if v in names]
    scalers = [StandardScaler() for _ in row_sets]
    for _, rows, parts in stacked.blocks(X, row_sets, views, BLOCK_ROWS):
        for scaler, block, part in zip(scalers, rows, parts):
            if len(block):
                scaler.partial_fit(head_inputs(part, X, names, block))
    return scalers


def _inputs(stacked: StackedMemAE, X: np.ndarray, row_sets: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
    """Member k's head inputs of ``X[row_sets[k]]``."""
    parts = stacked.features(X, row_sets, [v for v in VIEWS if v in names])
    return [head_inputs(part, X, names, rows) for part, rows in zip(parts, row_sets)]


def _assemble(frozen: keras.Model, head: keras.Model, names: list[str]) -> keras.Model:
    """x -> [φ(x), latent, readout, error]: the score, and the frozen MemAE's views it was computed from.

    The whole end-to-end scorer is what is saved; the pipeline scores many
    folds at once through their MemAEs stacked and each one's ``devnet_head``
    (:func:`memdev.models.candidates.network_outputs`).
    """
    x = keras.Input((frozen.input_shape[-1],), name="x")
    code, readout, error = frozen(x, training=False)
    views = {"latent": code, "readout": readout, "error": error, "features": x}
    chosen = [views[name] for name in names]
    joined = layers.Concatenate(name="head_inputs")(chosen) if len(chosen) > 1 else chosen[0]
    return keras.Model(x, [head(joined), code, readout, error], name="devnet")
