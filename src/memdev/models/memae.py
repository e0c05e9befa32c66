"""The memory-augmented autoencoder (MemAE, Gong et al., ICCV 2019).

The encoder's code addresses N memory slots by a softmax over cosine
similarities; the weights go through hard shrinkage and are renormalised;
the decoder sees only the memory read-out, so it reconstructs normal rows
well and anomalies poorly. The anomaly score is the per-row reconstruction
error.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from memdev.config import HEAD_INPUTS, MemAEConfig

EPSILON = 1e-12
PREDICT_BATCH = 8192  # validation batches while training
# inference: rows per compiled call. Python, Keras and runtime overhead is paid
# once per call: 8192 rows scored about 15% slower per CPU second, 16384 and
# 65536 about the same as 32768; scoring 5M memory-mapped rows (76 features) at
# 32768 grew the resident set by the file's pages plus about 50 MiB
SCORE_BATCH = 32768
# the frozen MemAE's outputs, in the order the extractor returns them
VIEWS = tuple(view for view in HEAD_INPUTS if view != "features")


@keras.saving.register_keras_serializable(package="memdev")
class MemoryUnit(layers.Layer):
    """Addressable memory with hard-shrinkage sparse addressing.

    Parameters
    ----------
    memory_size : int
        Number of prototype slots N.
    shrink : float
        Shrinkage threshold in units of 1/N (the paper uses 1 to 3).
    entropy_weight : float
        Weight α of the addressing-entropy loss added to the model's loss.
    """

    def __init__(self, memory_size: int, shrink: float = 1.0, entropy_weight: float = 0.0002, **kwargs):
        super().__init__(**kwargs)
        self.memory_size = int(memory_size)
        self.shrink = float(shrink)
        self.entropy_weight = float(entropy_weight)

    def build(self, input_shape):
        self.memory = self.add_weight(
            name="memory",
            shape=(self.memory_size, int(input_shape[-1])),
            initializer=keras.initializers.RandomUniform(-1.0, 1.0),
        )

    def addressing(self, code):
        """The sparse, renormalised addressing weights ŵ for each code."""
        similarity = ops.matmul(_unit(code), ops.transpose(_unit(self.memory)))
        weights = ops.softmax(similarity, axis=-1)
        # past about 2/N a fresh memory has no weight above λ: every slot would
        # be shrunk away, the read-out would be 0 and no gradient would flow;
        # so the best-matching slot always survives
        threshold = ops.minimum(self.shrink / self.memory_size, 0.999 * ops.max(weights, axis=-1, keepdims=True))
        shifted = weights - threshold
        weights = ops.relu(shifted) * weights / (ops.abs(shifted) + EPSILON)
        return weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), EPSILON)

    def call(self, code):
        weights = self.addressing(code)
        if self.entropy_weight:
            entropy = -ops.sum(weights * ops.log(weights + EPSILON), axis=-1)
            self.add_loss(self.entropy_weight * ops.mean(entropy))
        return ops.matmul(weights, self.memory)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "memory_size": self.memory_size,
            "shrink": self.shrink,
            "entropy_weight": self.entropy_weight,
        }


@keras.saving.register_keras_serializable(package="memdev")
class ReconstructionError(layers.Layer):
    """Per-row mean squared error between an input and its reconstruction."""

    def call(self, inputs):
        x, x_hat = inputs
        return ops.mean(ops.square(x - x_hat), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], 1)


def _unit(x):
    return x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), EPSILON)


def optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate}})


def build(n_features: int, config: MemAEConfig) -> keras.Model:
    """An uncompiled MemAE: encoder -> memory -> decoder."""
    encoder = keras.Sequential(
        [keras.Input((n_features,))]
        + [layers.Dense(units, activation="relu") for units in config.hidden]
        + [layers.Dense(config.latent, activation="tanh")],
        name="encoder",
    )
    decoder = keras.Sequential(
        [keras.Input((config.latent,))]
        + [layers.Dense(units, activation="relu") for units in reversed(config.hidden)]
        + [layers.Dense(n_features)],
        name="decoder",
    )
    x = keras.Input((n_features,), name="x")
    readout = MemoryUnit(config.memory_size, config.shrink, config.entropy_weight, name="memory")(encoder(x))
    return keras.Model(x, decoder(readout), name="memae")


def extractor(memae: keras.Model) -> keras.Model:
    """A frozen view of a trained MemAE: x -> [latent code, memory read-out, error]."""
    x = keras.Input((memae.input_shape[-1],), name="x")
    code = memae.get_layer("encoder")(x)
    readout = memae.get_layer("memory")(code)
    error = ReconstructionError(name="error")([x, memae.get_layer("decoder")(readout)])
    model = keras.Model(x, [code, readout, error], name="memae_features")
    model.trainable = False
    return model


def predict_rows(model: keras.Model, X: np.ndarray, rows: np.ndarray | None = None,
                 batch_size: int = SCORE_BATCH) -> list[np.ndarray]:
    """Every output of ``model`` on ``X[rows]`` (all rows by default), in ``rows``' order.

    One ``predict_on_batch`` per batch: no data pipeline, callbacks or
    per-epoch set-up around it (``Model.predict`` costs about a fifth more
    here). X may be a memory map: only one batch of it is read at a time, and
    the outputs are written into arrays allocated once, never concatenated.
    """
    rows = None if rows is None else np.asarray(rows)
    n = len(X) if rows is None else len(rows)
    outs = None
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        result = model.predict_on_batch(_read(X, start, stop, rows))
        result = list(result) if isinstance(result, (list, tuple)) else [result]
        if outs is None:
            outs = [np.empty((n,) + r.shape[1:], dtype=r.dtype) for r in result]
        for out, r in zip(outs, result):
            out[start:stop] = r
    if outs is None:  # no rows
        outs = [np.empty((0,) + tuple(t.shape[1:]), dtype=t.dtype) for t in model.outputs]
    return outs


def _read(X: np.ndarray, start: int, stop: int, rows: np.ndarray | None) -> np.ndarray:
    """``X[rows[start:stop]]`` (``X[start:stop]`` without rows) as float32; a memory map is read in row order."""
    if rows is None:
        return np.asarray(X[start:stop], dtype=np.float32)
    chunk = rows[start:stop]
    steps = np.diff(chunk)
    if (steps == 1).all():  # a run of consecutive rows: a slice, no gather
        return np.asarray(X[chunk[0]:chunk[-1] + 1], dtype=np.float32)
    if (steps >= 0).all():
        return np.asarray(X[chunk], dtype=np.float32)
    order = np.argsort(chunk, kind="stable")
    x = np.empty((len(chunk),) + X.shape[1:], dtype=np.float32)
    x[order] = X[chunk[order]]
    return x


class MemAEDetector:
    """Fit a MemAE on normal rows; score rows by reconstruction error.

    Follows scikit-learn's shape: ``fit`` / ``decision_function`` /
    ``predict``, fitted state in ``model_`` and ``history_``.
    """

    def __init__(self, config: MemAEConfig, seed: int = 0, verbose: int = 0):
        self.config = config
        self.seed = seed
        self.verbose = verbose

    def fit(self, X: np.ndarray, rows: np.ndarray | None = None, callbacks: list | None = None) -> "MemAEDetector":
        """Fit on ``X[rows]`` (all rows by default), batch by batch: X may be a memory map."""
        cfg = self.config
        keras.utils.set_random_seed(self.seed)
        self.model_, self.extractor_, self._extractors = build(X.shape[1], cfg), None, {}
        self.model_.compile(optimizer=optimizer(cfg.optimizer, cfg.learning_rate), loss="mse")
        fit_rows, val_rows = _split(_rows(X, rows), cfg.validation_split, self.seed)
        stop = keras.callbacks.EarlyStopping(patience=cfg.patience, restore_best_weights=True, min_delta=1e-5)
        history = self.model_.fit(
            RowBatches(X, fit_rows, cfg.batch_size, seed=self.seed, target=True),
            validation_data=RowBatches(X, val_rows, PREDICT_BATCH, target=True) if len(val_rows) else None,
            epochs=cfg.epochs,
            callbacks=[stop] + (callbacks or []) if len(val_rows) else callbacks,
            verbose=self.verbose,
        )
        self.history_ = history.history
        return self

    def features(self, X: np.ndarray, rows: np.ndarray | None = None,
                 views: tuple[str, ...] | list[str] = VIEWS) -> dict[str, np.ndarray]:
        """Latent code, memory read-out and error of ``X[rows]`` (all rows by default).

        ``views`` picks some of them: the others are then neither computed
        (where they need not be) nor held in memory.
        """
        views = tuple(views)
        if not views:
            return {}
        if getattr(self, "extractor_", None) is None:
            self.extractor_, self._extractors = extractor(self.model_), {}
        if views not in self._extractors:
            full = self.extractor_
            self._extractors[views] = full if views == VIEWS else keras.Model(
                full.input, [full.outputs[VIEWS.index(view)] for view in views], name="memae_views")
        return dict(zip(views, predict_rows(self._extractors[views], X, rows)))

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        return self.features(X, views=("error",))["error"][:, 0]

    def save(self, path: Path) -> None:
        """Write the whole MemAE: its encoder (the one the DevNet head freezes) is a layer of it."""
        from memdev.atomic import atomic_path

        with atomic_path(path) as tmp:
            self.model_.save(tmp)

    @classmethod
    def load(cls, memae_path: Path, config: MemAEConfig, seed: int = 0) -> "MemAEDetector":
        detector = cls(config, seed)
        detector.model_ = keras.models.load_model(memae_path, compile=False, safe_mode=True)
        return detector


def _split(rows: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    n_val = int(len(rows) * share) if len(rows) >= 20 else 0
    order = np.random.default_rng(seed).permutation(rows)
    return order[n_val:], order[:n_val]


def _rows(X: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return np.arange(len(X)) if rows is None else np.asarray(rows)


class RowBatches(keras.utils.PyDataset):
    """Batches of ``X[rows]`` sliced one at a time, so X may be a memory map
    bigger than RAM and is never copied or turned into one big tensor.

    With a ``seed`` the rows are reshuffled every epoch (reproducibly);
    ``target=True`` yields (x, x) for an autoencoder.
    """

    def __init__(self, X: np.ndarray, rows: np.ndarray | None, batch_size: int, seed: int | None = None,
                 target: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.X, self.rows, self.batch_size = X, _rows(X, rows), batch_size
        self.seed, self.target, self.epoch = seed, target, 0
        self.order = self._order()

    def _order(self) -> np.ndarray:
        if self.seed is None:
            return self.rows
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.rows)

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, i: int):
        # sorted rows read a memory map front to back
        x = np.asarray(self.X[np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])], dtype=np.float32)
        return (x, x) if self.target else x

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._order()
