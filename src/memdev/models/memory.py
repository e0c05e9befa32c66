"""The MemAE's memory: N prototype codes addressed sparsely (Gong et al., ICCV 2019).

The encoder's code addresses the slots by a softmax over cosine similarities;
hard shrinkage drops the weakly addressed slots and the rest are
renormalised; the read-out is the weighted sum of the slots. The addressing
is written once, in Keras ops, and serves both the Keras layer
(:class:`MemoryUnit`, one model) and the stacked trainer
(:mod:`memdev.models.stacked`, K models side by side with a leading member
axis): the two compute the same numbers.
"""

from __future__ import annotations

import keras
from keras import layers, ops

EPSILON = 1e-12


def unit(x):
    """Rows of ``x`` scaled to unit length (a zero row stays zero)."""
    return x / ops.maximum(ops.norm(x, axis=-1, keepdims=True), EPSILON)


def addressing(code, memory, shrink: float):
    """The sparse, renormalised addressing weights ŵ of each code.

    Parameters
    ----------
    code : tensor, shape (..., B, latent)
        Encoder outputs.
    memory : tensor, shape (..., N, latent)
        The slots; leading axes (members) match ``code``'s.
    shrink : float
        The hard-shrinkage threshold λ (the config's ``shrink`` / N).

    Returns
    -------
    tensor, shape (..., B, N)
        Non-negative weights summing to 1 over the slots.
    """
    similarity = ops.matmul(unit(code), ops.swapaxes(unit(memory), -1, -2))
    weights = ops.softmax(similarity, axis=-1)
    # past about 2/N a fresh memory has no weight above λ: every slot would
    # be shrunk away, the read-out would be 0 and no gradient would flow;
    # so the best-matching slot always survives
    threshold = ops.minimum(shrink, 0.999 * ops.max(weights, axis=-1, keepdims=True))
    shifted = weights - threshold
    weights = ops.relu(shifted) * weights / (ops.abs(shifted) + EPSILON)
    return weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), EPSILON)


def entropy(weights):
    """The entropy of each row's addressing weights (the paper's sparsity loss, before α)."""
    return -ops.sum(weights * ops.log(weights + EPSILON), axis=-1)


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
        return addressing(code, self.memory, self.shrink / self.memory_size)

    def call(self, code):
        weights = self.addressing(code)
        if self.entropy_weight:
            self.add_loss(self.entropy_weight * ops.mean(entropy(weights)))
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
