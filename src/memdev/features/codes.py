"""Categorical columns as category codes again, for the boosted trees.

The feature matrices one-hot encode every categorical column, which the MemAE
needs. A gradient-boosted tree reads one column of codes as well as the block
of 0/1 columns (it splits on sets of categories) and builds its histograms
over far fewer columns: on bank-marketing 20 instead of 63, a fit about 3x
faster at the same CV (BENCHMARKS-notes.md). Only where every label is known
(:func:`memdev.training.finetune.categories` says why).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

Blocks = tuple[tuple[int, ...], ...]  # per categorical column, the feature matrix's one-hot columns of it


def one_hot_blocks(transformer) -> Blocks:
    """Which columns of the matrices ``transformer`` (:func:`~memdev.features.preprocess.build_transformer`'s,
    fitted) writes belong to each categorical column; columns it dropped as constant are left out."""
    columns = transformer.named_steps["columns"]
    if not columns.output_indices_["categorical"].stop:  # no categorical column: the encoder was never fitted
        return ()
    encoder = columns.named_transformers_["categorical"].named_steps["onehot"]
    owner = np.full(columns.output_indices_["categorical"].stop, -1)
    start = columns.output_indices_["categorical"].start
    for i, (levels, rare) in enumerate(zip(encoder.categories_, encoder.infrequent_categories_)):
        width = len(levels) if rare is None else len(levels) - len(rare) + 1  # the rare levels share one column
        owner[start:start + width] = i
        start += width
    owner = owner[transformer.named_steps["drop_constant"].get_support()]
    blocks = (np.flatnonzero(owner == i) for i in range(len(encoder.categories_)))
    return tuple(tuple(int(c) for c in block) for block in blocks if len(block))


class CategoryCodes(TransformerMixin, BaseEstimator):
    """Each one-hot block of ``blocks`` replaced by one column of codes, the codes first.

    A row's code is the position of its 1 in the block, or the block's width
    where none is set (a level unseen in training). Columns in no block follow
    in their order, so columns appended to the feature matrix (the stack's
    MemAE outputs) pass through.
    """

    def __init__(self, blocks: Blocks = ()):
        self.blocks = blocks

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X)
        rest = np.setdiff1d(np.arange(X.shape[1]), [c for block in self.blocks for c in block])
        out = np.empty((len(X), len(self.blocks) + len(rest)), dtype=X.dtype)
        for i, block in enumerate(self.blocks):
            part = X[:, block]
            out[:, i] = np.where(part.max(axis=1) > 0, part.argmax(axis=1), len(block))
        out[:, len(self.blocks):] = X[:, rest]
        return out
