"""Seeding and determinism: same config, same seed, same machine, same bytes."""

from __future__ import annotations


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)  # Python, NumPy and the backend
    tf.config.experimental.enable_op_determinism()
