"""K MemAEs trained together: stacked variables, one compiled loop, early stopping per member.

Cross-validation fits one MemAE per fold. :class:`StackedMemAE` holds the K
fold models as one set of variables with a leading member axis (kernels
``(K, in, out)``, memory ``(K, N, latent)``) and computes the forward pass of
:func:`memdev.models.memae.build` for all of them at once; :func:`fit_stacked`
trains them in a :class:`~memdev.models.loop.CompiledLoop`, each member on
batches of its own fold's rows, with its own validation split, early stopping
and best weights. Afterwards every member is an ordinary Keras MemAE again
(:mod:`memdev.models.memae`), so saving, loading and scoring do not change.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from memdev.config import HEAD_INPUTS, MemAEConfig
from memdev.models.loop import CompiledLoop, optimizer, read_rows, stacked_dense
from memdev.models.memory import addressing, entropy

log = logging.getLogger(__name__)

# the frozen MemAE's outputs (the DevNet head's inputs besides the features)
VIEWS = tuple(view for view in HEAD_INPUTS if view != "features")
FEATURE_BLOCK = 8192  # rows per member in one views call
CHUNK_BYTES = 64 << 20  # the training batches of one compiled call (bounds memory on memory-mapped data)
VALIDATION_ROWS = 65536  # per member: the mean loss over this many rows is a precise enough stopping signal
MIN_DELTA = 1e-5  # an improvement of the validation loss smaller than this does not count
# row passes (rows x epochs, all members) from which the loop is compiled with
# XLA. 5 bank-marketing folds (5 x 18,450 rows of 63 features): an epoch took
# 0.19 CPU-s with XLA against 0.37 plain, compiling cost 2.4 CPU-s more, so XLA
# pays from about 1.2M row passes (at load 10 its 7-9 s of wall from about 2.5M);
# 100,000 rows of 100 features: 360-380k rows per CPU-s with XLA, 140-160k plain
XLA_FROM_ROW_PASSES = 2_000_000


class StackedMemAE:
    """K MemAEs of one architecture as stacked variables.

    Parameters
    ----------
    config : MemAEConfig
        The architecture and loss (``hidden``, ``latent``, ``memory_size``,
        ``shrink``, ``entropy_weight``).
    weights : list of list of ndarray
        Member k's weights in the order of ``memdev.models.memae.build(...)
        .get_weights()``: each encoder Dense's kernel and bias, the memory,
        each decoder Dense's kernel and bias.
    """

    def __init__(self, config: MemAEConfig, weights: list[list[np.ndarray]]):
        self.config = config
        self.variables = [keras.Variable(np.stack(parts), name=f"stacked_{i}") for i, parts in enumerate(zip(*weights))]
        dense = 2 * (len(config.hidden) + 1)  # encoder kernels and biases
        self.encoder, self.memory, self.decoder = self.variables[:dense], self.variables[dense], self.variables[dense + 1:]
        self.shrink = config.shrink / config.memory_size
        self._views = tf.function(self.views, autograph=False, reduce_retracing=True)

    @property
    def members(self) -> int:
        return int(self.memory.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.encoder[0].shape[1])

    def forward(self, x):
        """(code, addressing weights, read-out, reconstruction) of x, shape (K, B, F): member k reads x[k]."""
        code = stacked_dense(x, self.encoder, "tanh")
        weights = addressing(code, self.memory, self.shrink)
        readout = ops.matmul(weights, self.memory)
        return code, weights, readout, stacked_dense(readout, self.decoder, None)

    def row_losses(self, x):
        """Each row's loss, shape (K, B): squared error averaged over features + α · addressing entropy.

        Its mean over rows is the Keras model's loss (``mse`` plus the memory's ``add_loss``).
        """
        _, weights, _, x_hat = self.forward(x)
        loss = ops.mean(ops.square(x - x_hat), axis=-1)
        return loss + self.config.entropy_weight * entropy(weights) if self.config.entropy_weight else loss

    def member_losses(self, x):
        """Each member's mean loss on its rows of x, shape (K,)."""
        return ops.mean(self.row_losses(x), axis=1)

    def views(self, x) -> dict:
        """The extractor's outputs (``memdev.models.memae.extractor``) for every member: latent, readout, error."""
        code, _, readout, x_hat = self.forward(x)
        return {"latent": code, "readout": readout, "error": ops.mean(ops.square(x - x_hat), axis=-1, keepdims=True)}

    def blocks(self, X: np.ndarray, row_sets: list[np.ndarray], views=VIEWS, block_rows: int = FEATURE_BLOCK):
        """Yield (start, rows, parts) for consecutive blocks of every member's rows.

        ``rows[k]`` is ``row_sets[k][start:start + block_rows]`` and
        ``parts[k]`` member k's views of ``X[rows[k]]``. The members run side
        by side on one zero-padded (K, block_rows, F) array, always of one
        shape, so the function is traced once.
        """
        longest = max(len(rows) for rows in row_sets)
        block_rows = max(1, min(block_rows, longest))
        for start in range(0, longest, block_rows):
            rows = [np.asarray(r[start:start + block_rows]) for r in row_sets]
            x = np.zeros((self.members, block_rows, self.n_features), dtype=np.float32)
            for k, part in enumerate(rows):
                x[k, :len(part)] = read_rows(X, part)
            computed = {view: tensor.numpy() for view, tensor in self._views(tf.constant(x)).items()}
            yield start, rows, [{view: computed[view][k, :len(part)] for view in views} for k, part in enumerate(rows)]

    def features(self, X: np.ndarray, row_sets: list[np.ndarray], views=VIEWS,
                 block_rows: int = FEATURE_BLOCK) -> list[dict[str, np.ndarray]]:
        """Member k's views of ``X[row_sets[k]]``, for every k (the per-fold extractors' numbers, to float precision)."""
        widths = {"latent": self.config.latent, "readout": self.config.latent, "error": 1}
        outs = [{view: np.empty((len(rows), widths[view]), dtype=np.float32) for view in views} for rows in row_sets]
        for start, rows, parts in self.blocks(X, row_sets, views, block_rows):
            for out, part, block in zip(outs, parts, rows):
                for view in views:
                    out[view][start:start + len(block)] = part[view]
        return outs

    def snapshot(self) -> list[np.ndarray]:
        """The stacked variables' current values."""
        return [np.array(variable.numpy()) for variable in self.variables]

    def assign(self, values: list[np.ndarray]) -> None:
        for variable, value in zip(self.variables, values):
            variable.assign(value)

    def member_weights(self, k: int) -> list[np.ndarray]:
        """Member k's weights, in ``build(...).get_weights()`` order."""
        return [value[k] for value in self.snapshot()]


@dataclass
class History:
    """What a stacked fit did: losses per member and epoch, and wall time per epoch."""

    loss: list[list[float]]  # member k's training loss of each epoch it trained
    val_loss: list[list[float]]  # and its validation loss (empty without validation rows)
    best_epoch: list[int]  # the epoch (1-based) whose weights member k kept; 0: its last
    epoch_seconds: list[float] = field(default_factory=list)  # the first includes tracing
    jit_compile: bool = False

    def member(self, k: int) -> dict[str, list[float]]:
        """Member k's history as ``keras.Model.fit`` reports one: ``{"loss": [...], "val_loss": [...]}``."""
        return {"loss": self.loss[k], "val_loss": self.val_loss[k]}


def split(rows: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows): a seeded ``share`` of ``rows`` held out (none below 20 rows)."""
    n_val = int(len(rows) * share) if len(rows) >= 20 else 0
    order = np.random.default_rng(seed).permutation(rows)
    return order[n_val:], order[:n_val]


class _Stream:
    """A member's endless stream of training rows: a seeded permutation per pass (pass e: seed [seed, e])."""

    def __init__(self, rows: np.ndarray, seed: int):
        self.rows, self.seed, self.passes, self.buffer = rows, seed, 0, np.empty(0, dtype=np.int64)

    def take(self, n: int) -> np.ndarray:
        while len(self.buffer) < n:
            order = np.random.default_rng([self.seed, self.passes]).permutation(self.rows)
            self.buffer = np.concatenate([self.buffer, order])
            self.passes += 1
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out


class _Validation:
    """The members' validation rows (at most VALIDATION_ROWS each) as one padded block, and their loss."""

    def __init__(self, X: np.ndarray, row_sets: list[np.ndarray], model: StackedMemAE, jit_compile: bool):
        rows = [np.sort(r[:VALIDATION_ROWS]) for r in row_sets]
        self.has_rows = np.array([len(r) > 0 for r in rows])
        width = max(len(r) for r in rows)
        x = np.zeros((len(rows), width, model.n_features), dtype=np.float32)
        mask = np.zeros((len(rows), width), dtype=np.float32)
        for k, r in enumerate(rows):
            x[k, :len(r)], mask[k, :len(r)] = read_rows(X, r), 1.0
        self.x, self.mask = tf.constant(x), tf.constant(mask)

        def loss(x, mask):  # each member's mean row loss over its own (unpadded) rows
            return ops.sum(model.row_losses(x) * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1.0)

        self._loss = tf.function(loss, jit_compile=jit_compile, autograph=False)

    def loss(self) -> np.ndarray:
        return self._loss(self.x, self.mask).numpy()


class _EarlyStopping:
    """Keras's EarlyStopping (restore_best_weights=True), per member: its best weights, its patience."""

    def __init__(self, model: StackedMemAE, patience: int, validating: np.ndarray):
        self.model, self.patience, self.validating = model, patience, validating
        self.best = np.full(model.members, np.inf)
        self.best_epoch = np.zeros(model.members, dtype=int)
        self.wait = np.zeros(model.members, dtype=int)
        self.active = np.ones(model.members, dtype=bool)
        self.best_weights = model.snapshot()

    def update(self, epoch: int, losses: np.ndarray) -> None:
        """After epoch ``epoch`` (1-based): keep improved members' weights; stop those out of patience."""
        improved = self.active & self.validating & (losses < self.best - MIN_DELTA)
        if improved.any():
            for best, now in zip(self.best_weights, self.model.snapshot()):
                best[improved] = now[improved]
            self.best[improved], self.best_epoch[improved], self.wait[improved] = losses[improved], epoch, 0
        waiting = self.active & self.validating & ~improved
        self.wait[waiting] += 1
        self.active[waiting & (self.wait >= self.patience)] = False

    def restore(self) -> None:
        """Members with validation rows get their best weights back; the others keep their last."""
        values = self.model.snapshot()
        for value, best in zip(values, self.best_weights):
            value[self.validating] = best[self.validating]
        self.model.assign(values)


def fit_stacked(X: np.ndarray, row_sets: list[np.ndarray], config: MemAEConfig, seeds: list[int],
                weights: list[list[np.ndarray]], on_epoch: Callable | None = None,
                jit_compile: bool | None = None) -> tuple[StackedMemAE, History]:
    """Fit one MemAE per row set, all at once.

    Parameters
    ----------
    X : ndarray or memmap, shape (n, F)
        Features; only the row sets' rows are read, a chunk at a time.
    row_sets : list of ndarray
        Member k's training rows, before its validation split.
    config : MemAEConfig
        The model, optimizer, ``epochs``, ``batch_size``, ``patience`` and ``validation_split``.
    seeds : list of int
        Member k's seed: its validation split and the order of its rows.
    weights : list of list of ndarray
        Member k's initial weights (``build(...).get_weights()``).
    on_epoch : callable, optional
        ``on_epoch(epoch, logs)`` after every epoch (0-based, as Keras's
        callbacks), ``logs``: ``loss`` and ``val_loss`` (means over the members
        still training), ``members`` (how many), ``seconds`` (the epoch's wall
        time), ``epochs`` (at most, within the step budget).
    jit_compile : bool, optional
        Compile with XLA; by default only from :data:`XLA_FROM_ROW_PASSES` row passes.

    Returns
    -------
    model : StackedMemAE
        Every member with the weights it kept (its best validation loss).
    history : History
    """
    splits = [split(np.asarray(rows), config.validation_split, seed) for rows, seed in zip(row_sets, seeds)]
    if any(len(fit_rows) == 0 for fit_rows, _ in splits):
        raise ValueError(f"fit_stacked: a member has no training rows (row sets of {[len(r) for r in row_sets]} rows)")
    streams = [_Stream(fit_rows, seed) for (fit_rows, _), seed in zip(splits, seeds)]
    members, batch = len(row_sets), config.batch_size
    steps = max(1, -(-max(len(fit_rows) for fit_rows, _ in splits) // batch))  # an epoch: the largest member's pass
    epochs = budget(config, steps)
    if jit_compile is None:
        jit_compile = uses_xla(members, batch * steps, epochs)
    model = StackedMemAE(config, weights)
    loop = CompiledLoop(model.variables, model.member_losses, optimizer(config.optimizer, config.learning_rate),
                        jit_compile)
    validation = _Validation(X, [val_rows for _, val_rows in splits], model, jit_compile)
    stopping = _EarlyStopping(model, config.patience, validation.has_rows)
    chunk = max(1, min(steps, CHUNK_BYTES // (members * batch * model.n_features * 4)))
    history = History([[] for _ in seeds], [[] for _ in seeds], [], jit_compile=jit_compile)
    for epoch in range(epochs):
        started = time.perf_counter()
        training = stopping.active.copy()
        losses = _epoch(X, loop, streams, steps, chunk, batch)
        checked = validation.loss() if validation.has_rows.any() else None
        if checked is not None:
            stopping.update(epoch + 1, checked)
        history.epoch_seconds.append(time.perf_counter() - started)
        _record(history, training, losses, checked, validation.has_rows)
        if on_epoch:
            on_epoch(epoch, _logs(training, losses, checked, validation.has_rows, history.epoch_seconds[-1], epochs))
        if not stopping.active.any():
            break
    stopping.restore()
    history.best_epoch = [int(e) for e in stopping.best_epoch]
    log.debug(f"stacked MemAEs: {members} members, epochs {[len(loss) for loss in history.loss]}, XLA {jit_compile}")
    return model, history


def budget(config: MemAEConfig, steps: int) -> int:
    """Epochs of ``steps`` steps to train: ``config.epochs``, fewer where they would pass ``config.max_steps``."""
    if not config.max_steps:
        return config.epochs
    return min(config.epochs, max(1, -(-config.max_steps // steps)))


def uses_xla(members: int, rows: int, epochs: int) -> bool:
    """Whether :func:`fit_stacked` compiles with XLA by default: for ``members`` of ``rows`` training rows, ``epochs``."""
    return members * rows * epochs >= XLA_FROM_ROW_PASSES


def _epoch(X, loop: CompiledLoop, streams: list[_Stream], steps: int, chunk: int, batch: int) -> np.ndarray:
    """One epoch of ``steps`` steps, ``chunk`` steps per compiled call; each member's mean training loss."""
    total, done = np.zeros(len(streams)), 0
    while done < steps:
        n = min(chunk, steps - done)
        # (n, K, batch) rows: each member's next n batches; sorted within a batch,
        # so a memory map is read front to back (the order inside a batch does not matter)
        index = np.sort(np.stack([s.take(n * batch).reshape(n, batch) for s in streams], axis=1), axis=2)
        x = read_rows(X, index.reshape(-1)).reshape(index.shape + (X.shape[1],))
        total += loop.run(x) * n
        done += n
    return total / steps


def _record(history: History, training, losses, checked, has_rows) -> None:
    for k in np.flatnonzero(training):
        history.loss[k].append(float(losses[k]))
        if checked is not None and has_rows[k]:
            history.val_loss[k].append(float(checked[k]))


def _logs(training, losses, checked, has_rows, seconds: float, epochs: int) -> dict[str, float]:
    logs = {"loss": float(np.mean(losses[training])), "members": int(training.sum()), "seconds": seconds,
            "epochs": epochs}
    if checked is not None and (training & has_rows).any():
        logs["val_loss"] = float(np.mean(checked[training & has_rows]))
    return logs
