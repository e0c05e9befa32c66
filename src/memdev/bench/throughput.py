"""MemAE training and scoring throughput (rows/s) of the default model size, on synthetic rows."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

TRAIN_ROWS_PER_SECOND = 250_000  # issue 14: MemAE pretraining, 100 features, default size
PREDICT_ROWS_PER_SECOND = 500_000  # issue 6: inference of the default model
TRAIN_SECONDS = 40  # issue 14: `make train` on bank-marketing


@dataclass
class Speed:
    """What :func:`measure` measured, and on what."""

    rows: int  # training rows
    features: int
    predict_rows: int
    train: float  # MemAE training rows/s per epoch (median epoch after the first)
    predict: float  # scoring rows/s as `make train` scores the test rows
    config: dict  # the MemAE's config (hidden, latent, memory_size, batch_size, ...)


def measure(rows: int = 100_000, features: int = 100, predict_rows: int = 1_000_000, seed: int = 0) -> Speed:
    """MemAE training rows/s per epoch and one fold's scoring rows/s, default model size, synthetic rows."""
    from memdev.config import HeadConfig, MemAEConfig
    from memdev.models.candidates import network_outputs
    from memdev.models.devnet import DevNetHead
    from memdev.models.memae import MemAEDetector, as_stacked
    from memdev.models.stacked import uses_xla

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features), dtype=np.float32)
    y = (rng.random(rows) < 0.01).astype(np.int8)
    seconds = []  # the wall time of each epoch, as the trainer measures it
    config = MemAEConfig(epochs=5, validation_split=0.0)
    # compiled as `make train` would compile these rows' training (the default epochs), not 5 epochs' worth
    xla = uses_xla(1, rows, MemAEConfig().epochs)
    memae = MemAEDetector(config, seed=seed).fit(X, on_epoch=lambda epoch, logs: seconds.append(logs["seconds"]),
                                                 jit_compile=xla)
    train = rows / float(np.median(seconds[1:]))  # the first epoch also traces the graph
    # scoring as `make train` scores the test rows: the MemAE's outputs, then the DevNet head
    head = HeadConfig(epochs=1, steps_per_epoch=5)
    heads, stacked = [DevNetHead(head, seed=seed).fit(memae, X, y).model_], as_stacked([memae])
    big = np.tile(X, (predict_rows // rows, 1))
    network_outputs(stacked, heads, big[:rows], [np.arange(rows)], ("error",), head.inputs)  # warm up
    started = time.perf_counter()
    network_outputs(stacked, heads, big, [np.arange(len(big))], ("error",), head.inputs)
    predict = len(big) / (time.perf_counter() - started)
    print(f"throughput: MemAE training {train:,.0f} rows/s/epoch; scoring {predict:,.0f} rows/s", flush=True)
    return Speed(rows, features, len(big), train, predict, dataclasses.asdict(config))
