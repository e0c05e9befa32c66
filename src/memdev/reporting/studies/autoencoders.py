"""The four autoencoders the architecture comparison trains: plain, deep, convolutional, and the MemAE."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np
from keras import layers

from memdev.config import Config
from memdev.models import memae

LABELS = {"plain": "plain AE", "deep": "deep AE", "memae": "MemAE"}
CHUNK = 8192  # rows per call when scoring


def dense_autoencoder(n_features: int, hidden: list[int], latent: int, name: str) -> keras.Model:
    """Dense layers ``hidden`` -> code of ``latent`` (tanh, as the MemAE's) -> mirrored layers."""
    x = keras.Input((n_features,), name="x")
    h = x
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    h = layers.Dense(latent, activation="tanh", name="code")(h)
    for units in reversed(hidden):
        h = layers.Dense(units, activation="relu")(h)
    return keras.Model(x, layers.Dense(n_features)(h), name=name)


def conv_autoencoder(length: int, side: int | None) -> keras.Model:
    """Two conv + pooling stages down, two transposed convolutions up; flat vector in and out.

    ``side`` set: Conv2D over a ``side`` x ``side`` image (``length`` = side²);
    else Conv1D over the vector of ``length``. Both sizes are multiples of 4.
    """
    x = keras.Input((length,), name="x")
    if side:
        conv, pool, up = layers.Conv2D, layers.MaxPooling2D, layers.Conv2DTranspose
        h = layers.Reshape((side, side, 1))(x)
    else:
        conv, pool, up = layers.Conv1D, layers.MaxPooling1D, layers.Conv1DTranspose
        h = layers.Reshape((length, 1))(x)
    h = pool(2)(conv(16, 3, padding="same", activation="relu")(h))
    h = pool(2)(conv(8, 3, padding="same", activation="relu")(h))
    h = up(8, 3, strides=2, padding="same", activation="relu")(h)
    h = up(16, 3, strides=2, padding="same", activation="relu")(h)
    h = conv(1, 3, padding="same")(h)
    return keras.Model(x, layers.Reshape((length,))(h), name="conv2d_ae" if side else "conv1d_ae")


@dataclass
class Architecture:
    """One autoencoder of the comparison: how it is built and how rows are laid out for it."""

    key: str
    label: str
    build: Callable[[], keras.Model]
    length: int  # the model's input width
    position: np.ndarray  # feature i sits at position[i] of the model's input

    def inputs(self, X: np.ndarray) -> np.ndarray:
        if self.length == X.shape[1] and np.array_equal(self.position, np.arange(X.shape[1])):
            return X
        out = np.zeros((len(X), self.length), dtype=np.float32)
        out[:, self.position] = X
        return out

    def loss(self, model: keras.Model, inputs: np.ndarray) -> np.ndarray:
        """Per-row mean squared error over the real features (padding excluded)."""
        # called directly, chunk by chunk: no predict function to trace for every model and shape
        output = np.concatenate([np.asarray(model(inputs[i:i + CHUNK], training=False))
                                 for i in range(0, len(inputs), CHUNK)]) if len(inputs) else inputs
        return np.mean(np.square(inputs[:, self.position] - output[:, self.position]), axis=1)


def deep_width(config: Config) -> int:
    """The deep AE's outer hidden layers: the MemAE's first hidden layer, or twice the code (at least 32)."""
    cfg = config.memae
    return cfg.hidden[0] if cfg.hidden else max(2 * cfg.latent, 32)


def architectures(config: Config, n_features: int, layout: tuple[int, np.ndarray, list[str]] | None
                  ) -> list[Architecture]:
    """Plain AE (one hidden layer: the code), deep AE (3 hidden layers), convolutional AE, MemAE.

    ``layout`` (from :func:`memdev.reporting.studies.common.image_layout`) makes
    the convolutional AE a 2-D one over the image, padded to a multiple of 4.
    """
    cfg = config.memae
    identity = np.arange(n_features)
    if layout:
        side, pixel, _ = layout
        padded = -(-side // 4) * 4
        position = (pixel // side) * padded + pixel % side
        conv = Architecture("conv", f"conv2d AE ({side}x{side} image)",
                            lambda: conv_autoencoder(padded * padded, padded), padded * padded, position)
    else:
        length = -(-n_features // 4) * 4
        conv = Architecture("conv", "conv1d AE", lambda: conv_autoencoder(length, None), length, identity)
    return [
        Architecture("plain", LABELS["plain"],
                     lambda: dense_autoencoder(n_features, [], cfg.latent, "plain_ae"), n_features, identity),
        Architecture("deep", LABELS["deep"],
                     lambda: dense_autoencoder(n_features, [deep_width(config)], cfg.latent, "deep_ae"), n_features,
                     identity),
        conv,
        Architecture("memae", LABELS["memae"], lambda: memae.build(n_features, cfg), n_features, identity),
    ]
