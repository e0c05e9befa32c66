"""How common a row's level is, for categorical columns with more levels than one-hot encoding keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class LevelFrequency(TransformerMixin, BaseEstimator):
    """log(count) / log(rows) of each row's level among the training rows, for the columns with more than
    ``levels`` distinct training levels, some of them seen more than once (0: a level seen once, or never).

    One-hot encoding keeps at most ``levels`` levels of a column and lumps the
    rest into one "infrequent" column, yet how rare a level is (a merchant, a
    device seen in a handful of rows) is often what marks an anomaly. A level
    never seen in training counts as seen once, as every training row's own
    level counts itself.

    Attributes
    ----------
    counts_ : dict
        For each column kept, the training rows of each of its levels.
    rows_ : int
        The training rows the counts are out of.
    """

    def __init__(self, levels: int = 50):
        self.levels = levels

    def fit(self, X, y=None):
        frame = as_text(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.rows_ = len(frame)
        self.counts_ = {}
        for column in frame.columns:
            counts = frame[column].value_counts()
            if len(counts) > self.levels and counts.iloc[0] > 1:  # every level once (an id): nothing to tell
                self.counts_[column] = counts
        return self

    def transform(self, X) -> np.ndarray:
        if not self.counts_:  # no column kept: spare every chunk the conversion to text
            return np.zeros((len(X), 0))
        frame = as_text(pd.DataFrame(X)[list(self.counts_)])
        scale = np.log(max(self.rows_, 2))
        columns = [np.log(frame[column].map(counts).fillna(1).to_numpy(dtype=np.float64)) / scale
                   for column, counts in self.counts_.items()]
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray([f"{column}_frequency" for column in self.counts_], dtype=object)


def as_text(X) -> pd.DataFrame:
    """The columns as text, an empty cell as its own level ("nan"), as the one-hot encoder sees them."""
    return pd.DataFrame(X).astype(object).fillna("nan").astype(str)
