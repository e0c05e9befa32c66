"""Training K models at once: the optimizer, a compiled loop of steps, and reading rows in file order.

Cross-validation fits one MemAE and one DevNet head per fold. On small data
``keras.Model.fit`` spends its time around the arithmetic, not in it: data
adapter, callbacks and a Python round trip per step, a trace per fold
(BENCHMARKS.md, "Throughput"). Here the K fold models are one set of
variables with a leading member axis, each step gives member k a batch of its
own fold's rows, and :class:`CompiledLoop` runs a whole chunk of steps in one
graph call.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops


def optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """The config's optimizer by name (``sgd`` with Nesterov momentum 0.9)."""
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True)
    return keras.optimizers.get({"class_name": name, "config": {"learning_rate": learning_rate}})


def read_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``X[rows]`` as float32, in ``rows``' order.

    X may be a memory map bigger than RAM: it is read in row order (front to
    back), a run of consecutive rows as one slice.
    """
    rows = np.asarray(rows)
    if len(rows) == 0:
        return np.empty((0,) + X.shape[1:], dtype=np.float32)
    steps = np.diff(rows)
    if (steps == 1).all():
        return np.asarray(X[rows[0]:rows[-1] + 1], dtype=np.float32)
    if (steps >= 0).all():
        return np.asarray(X[rows], dtype=np.float32)
    order = np.argsort(rows, kind="stable")
    out = np.empty((len(rows),) + X.shape[1:], dtype=np.float32)
    out[order] = X[rows[order]]
    return out


def stacked_dense(h, variables: list, last: str | None):
    """Dense layers of K members at once: kernels (K, in, out), biases (K, out), h (K, B, in).

    ``variables`` alternate kernel and bias; every layer but the last is
    relu, the last ``last`` (an activation's name, None: linear), as the
    Keras ``Dense`` layers they come from.
    """
    pairs = list(zip(variables[0::2], variables[1::2]))
    for i, (kernel, bias) in enumerate(pairs):
        h = ops.matmul(h, kernel) + ops.expand_dims(bias, 1)
        activation = last if i == len(pairs) - 1 else "relu"
        h = keras.activations.get(activation)(h) if activation else h
    return h


class CompiledLoop:
    """Optimizer steps of K stacked members, many steps per graph call.

    Parameters
    ----------
    variables : list of keras.Variable
        The members' trainable variables, stacked: leading axis K.
    member_loss : callable
        ``member_loss(*batch)`` returns a (K,) tensor, each member's mean loss
        on its part of one step's batch.
    opt : keras.optimizers.Optimizer
        Updates every member with one step counter. Every optimizer the
        config allows updates elementwise, so members never mix.
    jit_compile : bool
        Compile with XLA: a step costs about 0.8x the CPU, but compiling
        takes seconds (worth it on large data only).

    Notes
    -----
    The members are trained on the **sum** of their losses, so member k's
    gradient is exactly the one its own loss gives it alone: K members
    trained together are K independent trainings.
    """

    def __init__(self, variables: list, member_loss: Callable, opt: keras.optimizers.Optimizer,
                 jit_compile: bool = False):
        self.variables, self.member_loss, self.optimizer = variables, member_loss, opt
        self.members = int(variables[0].shape[0])
        opt.build(variables)
        # autograph off: converting Keras's optimizer code cost about a second of tracing per fit
        self._steps = tf.function(self._run, jit_compile=jit_compile, reduce_retracing=True, autograph=False)

    def run(self, *batches: np.ndarray) -> np.ndarray:
        """One step per slice of the batches' leading axis; each member's mean loss over those steps.

        Every array in ``batches`` has shape (steps, K, ...); step i trains
        on ``[b[i] for b in batches]``.
        """
        return self._steps(*(tf.constant(b) for b in batches)).numpy()

    def _run(self, *batches):
        steps = tf.shape(batches[0])[0]

        def step(i, total):
            with tf.GradientTape() as tape:
                losses = self.member_loss(*(b[i] for b in batches))
                loss = tf.reduce_sum(losses)
            self.optimizer.apply(tape.gradient(loss, self.variables), self.variables)
            return i + 1, total + losses

        start = (tf.constant(0), tf.zeros((self.members,), tf.float32))
        _, total = tf.while_loop(lambda i, _: i < steps, step, start)
        return total / tf.cast(steps, tf.float32)
