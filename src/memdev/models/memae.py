"""The memory-augmented autoencoder (MemAE, Gong et al., ICCV 2019).

The encoder's code addresses N memory slots (:mod:`memdev.models.memory`);
the decoder sees only the memory read-out, so it reconstructs normal rows
well and anomalies poorly. The anomaly score is the per-row reconstruction
error. The fold models are trained together (:mod:`memdev.models.stacked`)
and each becomes the ordinary Keras model :func:`build` makes, which is what
is saved, loaded and scored here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import keras
import numpy as np
from keras import layers, ops

from memdev.config import MemAEConfig
from memdev.models.loop import read_rows
from memdev.models.memory import MemoryUnit
from memdev.models.stacked import VIEWS, StackedMemAE, fit_stacked

# inference: rows per compiled call. Python, Keras and runtime overhead is paid
# once per call: 8192 rows scored about 15% slower per CPU second, 16384 and
# 65536 about the same as 32768; scoring 5M memory-mapped rows (76 features) at
# 32768 grew the resident set by the file's pages plus about 50 MiB
SCORE_BATCH = 32768


@keras.saving.register_keras_serializable(package="memdev")
class ReconstructionError(layers.Layer):
    """Per-row mean squared error between an input and its reconstruction."""

    def call(self, inputs):
        x, x_hat = inputs
        return ops.mean(ops.square(x - x_hat), axis=-1, keepdims=True)

    def compute_output_shape(self, input_shapes):
        return (input_shapes[0][0], 1)


def build(n_features: int, config: MemAEConfig) -> keras.Model:
    """An uncompiled MemAE: encoder -> memory -> decoder.

    Its weights, in ``get_weights()`` order, are what
    :class:`~memdev.models.stacked.StackedMemAE` stacks.
    """
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
        x = np.asarray(X[start:stop], dtype=np.float32) if rows is None else read_rows(X, rows[start:stop])
        result = model.predict_on_batch(x)
        result = list(result) if isinstance(result, (list, tuple)) else [result]
        if outs is None:
            outs = [np.empty((n,) + r.shape[1:], dtype=r.dtype) for r in result]
        for out, r in zip(outs, result):
            out[start:stop] = r
    if outs is None:  # no rows
        outs = [np.empty((0,) + tuple(t.shape[1:]), dtype=t.dtype) for t in model.outputs]
    return outs


class MemAEDetector:
    """Fit a MemAE on normal rows; score rows by reconstruction error.

    Follows scikit-learn's shape: ``fit`` / ``decision_function``, fitted
    state in ``model_`` (the Keras model of :func:`build`) and ``history_``.
    """

    def __init__(self, config: MemAEConfig, seed: int = 0):
        self.config = config
        self.seed = seed

    def fit(self, X: np.ndarray, rows: np.ndarray | None = None, on_epoch: Callable | None = None,
            jit_compile: bool | None = None) -> "MemAEDetector":
        """Fit on ``X[rows]`` (all rows by default), a chunk at a time: X may be a memory map.

        A stacked fit of one member (:func:`fit_detectors`); ``on_epoch`` and
        ``jit_compile`` as :func:`~memdev.models.stacked.fit_stacked`'s.
        """
        rows = np.arange(len(X)) if rows is None else np.asarray(rows)
        (fitted,), _ = fit_detectors(X, [rows], self.config, [self.seed], on_epoch, jit_compile)
        self.model_, self.history_, self.extractor_ = fitted.model_, fitted.history_, None
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


def fit_detectors(X: np.ndarray, row_sets: list[np.ndarray], config: MemAEConfig, seeds: list[int],
                  on_epoch: Callable | None = None,
                  jit_compile: bool | None = None) -> tuple[list[MemAEDetector], StackedMemAE]:
    """One MemAE per row set, trained together (:func:`~memdev.models.stacked.fit_stacked`).

    Member k starts from the weights ``keras.utils.set_random_seed(seeds[k])``
    gives :func:`build`, and ends as that model with the weights it kept.
    Returns the fitted detectors and the stacked members (for computing
    every member's views in one pass).
    """
    n_features = X.shape[1]
    models = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        models.append(build(n_features, config))
    stacked, history = fit_stacked(X, row_sets, config, seeds, [m.get_weights() for m in models], on_epoch,
                                   jit_compile)
    detectors = []
    for k, (model, seed) in enumerate(zip(models, seeds)):
        model.set_weights(stacked.member_weights(k))
        detector = MemAEDetector(config, seed)
        detector.model_, detector.history_ = model, history.member(k)
        detectors.append(detector)
    return detectors, stacked


def as_stacked(detectors: list[MemAEDetector]) -> StackedMemAE:
    """Fitted (or loaded) detectors of one config as stacked members, for their views in one pass."""
    return StackedMemAE(detectors[0].config, [d.model_.get_weights() for d in detectors])
