"""The preprocess stage: raw tables (CSV or Parquet) in, float32 feature matrices out.

A scikit-learn ``ColumnTransformer`` fitted on the train table only: numbers are
imputed (with missing-indicators), scaled robustly and squashed with arcsinh
so heavy tails do not dominate a squared error; categories are imputed and
one-hot encoded (at most :data:`MAX_LEVELS` columns each: rare levels grouped,
unseen levels tolerated; a column with more levels also keeps how common each
row's level is, :mod:`memdev.features.frequency`); constant outputs are dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from typing import Iterator

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, RobustScaler

from memdev import atomic, manifest
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.features.frequency import LevelFrequency
from memdev.ingest import schema, tables
from memdev.paths import Paths

log = logging.getLogger(__name__)

# A text column whose values are at least this share numbers is a numeric
# column with a few broken cells, not a categorical one.
NUMERIC_SHARE = 0.9
# One-hot columns per categorical column at most; a column with more levels also gets how common each is
MAX_LEVELS = 50
# Bytes of data per streamed chunk of a large file (about 70,000 rows of 50 columns of CSV).
CHUNK_BYTES = 32 << 20
# The config keys this stage reads: features made under other values of them are stale.
CONFIG_KEYS = ("id_column", "target_column", "regime", "label_map", "group_column", "seed", "chunked_from_mb", "fit_rows")


def build_transformer(numeric: list[str], categorical: list[str]) -> Pipeline:
    numbers = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", RobustScaler(quantile_range=(5.0, 95.0))),
        ("squash", FunctionTransformer(np.arcsinh, feature_names_out="one-to-one")),
    ])
    categories = Pipeline([
        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
        ("onehot", OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=10, max_categories=MAX_LEVELS,
            sparse_output=False, dtype=np.float32,
        )),
    ])
    columns = ColumnTransformer(
        [("numeric", numbers, numeric), ("categorical", categories, categorical),
         ("frequency", LevelFrequency(levels=MAX_LEVELS), categorical)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("columns", columns), ("drop_constant", VarianceThreshold())])


def feature_columns(train: pd.DataFrame, test: pd.DataFrame, config: Config, paths: Paths) -> tuple[list[str], list[str]]:
    """Split the columns both tables hold into numeric and categorical, checking both files agree.

    A column of one table only (a train column the test rows cannot supply, as
    Kaggle's train tables often have) or entirely empty in either is left out,
    and the stage says which.
    """
    # the group column may encode the label (the demo's digit): reports only, never a feature
    drop = {config.id_column, config.target_column, config.group_column}
    train_path, test_path = paths.train_file, paths.test_file
    in_train, in_test = set(train.columns) - drop, set(test.columns) - drop
    shared, train_only, test_only = in_train & in_test, in_train - in_test, in_test - in_train
    train_cols = [c for c in train.columns if c in shared]
    left_out = {f"only in {train_path.name}": [c for c in train.columns if c in train_only],
                f"only in {test_path.name}": [c for c in test.columns if c in test_only]}
    # column-wise checks run on whole frames: a competition may have 10,000 columns
    for frame, path in ((train, train_path), (test, test_path)):
        empty = frame[train_cols].isna().all() & (len(frame) > 0)
        left_out[f"entirely empty in {path.name}"] = list(empty.index[empty])
        train_cols = [c for c in train_cols if not empty[c]]
    for why, columns in left_out.items():
        if columns:
            log.info(f"preprocess: left out {len(columns)} column{'s' * (len(columns) > 1)} {why}: "
                     + ", ".join(map(repr, columns[:10])) + (", ..." if len(columns) > 10 else ""))
    if not train_cols:
        raise MemdevError(f"{train_path}: no feature columns besides id and target that {test_path.name} holds too")
    types = train.dtypes
    numeric = [c for c in train_cols if _is_number(types[c])]
    categorical = [c for c in train_cols if not _is_number(types[c])]
    for column in categorical:
        _refuse_broken_numbers(train, column, train_path)
    for frame, path in ((train, train_path), (test, test_path)):
        types = frame.dtypes
        text = [c for c in numeric if not _is_number(types[c])]
        if text:
            values = frame[text[0]]
            bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
            raise MemdevError(f"{path}: column {text[0]!r} is numeric in {train_path.name} but has {bad.iloc[0]!r} "
                              f"at row {bad.index[0] + 2}")
        _refuse_infinities(frame, numeric, path)
    return numeric, categorical


def _is_number(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _refuse_broken_numbers(frame: pd.DataFrame, column: str, path) -> None:
    values = frame[column].dropna().astype(str)
    numbers = pd.to_numeric(values, errors="coerce")
    if len(values) and numbers.notna().mean() >= NUMERIC_SHARE and numbers.isna().any():
        bad = values[numbers.isna()]
        raise MemdevError(
            f"{path}: column {column!r} holds numbers but {bad.iloc[0]!r} at row {bad.index[0] + 2} is not one; "
            f"fix or empty such cells"
        )


def run(config: Config, paths: Paths) -> None:
    if paths.train_file.exists() and tables.data_bytes(paths.train_file) > config.chunked_from_mb << 20:
        run_chunked(config, paths)
        return
    train = tables.read_table(paths.train_file, config.id_column)
    test = tables.read_table(paths.test_file, config.id_column)
    sample = tables.read_table(paths.sample_file, config.id_column)
    check_rows(len(train), len(test), config, paths)
    check_ids(test, sample, config, paths)
    y = schema.target_vector(train, config, paths.train_file)
    numeric, categorical = feature_columns(train, test, config, paths)
    transformer = build_transformer(numeric, categorical)
    x_train = transformer.fit_transform(train[numeric + categorical]).astype(np.float32)
    x_test = transformer.transform(test[numeric + categorical]).astype(np.float32)
    for name, array in (("X_train", x_train), ("X_test", x_test)):
        if not np.isfinite(array).all():
            raise MemdevError(f"{name}: non-finite features after preprocessing; a column overflows float32")
    with atomic.atomic_path(paths.x_test) as tmp:
        np.save(tmp, x_test)
    # X_train.npy is the Makefile's target for this stage, so it is renamed into
    # place last: a run killed before then is re-run by make, never half-used
    with atomic.atomic_path(paths.x_train) as tmp:
        np.save(tmp, x_train)
        finish(config, paths, transformer, numeric, categorical, y, test[[config.id_column]], x_train.shape[1],
               len(x_test), tmp)


def run_chunked(config: Config, paths: Paths) -> None:
    """The same stage for a training table bigger than memory.

    Only the id and target columns are read whole. The transformer is fitted
    on a random sample of at most ``fit_rows`` training rows (all of them when
    there are fewer, giving the in-memory path's features), then the train and
    test tables are streamed through it into memory-mappable ``.npy`` files.
    """
    labels = _read_columns(paths.train_file, config, (config.id_column, config.target_column))
    test_ids = _read_columns(paths.test_file, config, (config.id_column,))
    sample = tables.read_table(paths.sample_file, config.id_column)
    check_rows(len(labels), len(test_ids), config, paths)
    check_ids(test_ids, sample, config, paths)
    y = schema.target_vector(labels, config, paths.train_file)
    rng = np.random.default_rng(config.seed)
    picks = [np.sort(rng.choice(n, min(n, config.fit_rows), replace=False)) for n in (len(labels), len(test_ids))]
    # the column checks run on the samples: exact when a file has at most fit_rows rows
    train, test = _rows(paths.train_file, config, picks[0]), _rows(paths.test_file, config, picks[1])
    numeric, categorical = feature_columns(train, test, config, paths)
    columns = numeric + categorical
    transformer = build_transformer(numeric, categorical).fit(train[columns])
    width = transformer.transform(train[columns].head(1)).shape[1]
    log.info(f"preprocess: {paths.train_file} is large: transformer fitted on {len(train):,} random rows of "
             f"{len(labels):,}; transforming in chunks")
    del train, test
    with atomic.atomic_path(paths.x_test) as tmp:
        _stream(paths.test_file, tmp, (len(test_ids), width), transformer, numeric, config)
    with atomic.atomic_path(paths.x_train) as tmp:  # last, as in run
        _stream(paths.train_file, tmp, (len(labels), width), transformer, numeric, config)
        finish(config, paths, transformer, numeric, categorical, y, test_ids[[config.id_column]], width,
               len(test_ids), tmp)


def _stream(source, out_path, shape, transformer, numeric: list[str], config: Config) -> None:
    """Transform ``source`` chunk by chunk into a float32 ``.npy`` at ``out_path``."""
    columns = list(transformer.feature_names_in_)
    out = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32, shape=shape)
    for frame in _chunks(source, config):
        _refuse_infinities(frame, numeric, source)
        block = transformer.transform(frame[columns]).astype(np.float32)
        if not np.isfinite(block).all():
            raise MemdevError(f"{source}: non-finite features after preprocessing; a column overflows float32")
        out[frame.index[0]:frame.index[-1] + 1] = block
    out.flush()


def _read_columns(path, config: Config, wanted: tuple) -> pd.DataFrame:
    """Only the named columns of a table (its first column when it has none of them)."""
    names = tables.header(path)
    return tables.read_table(path, config.id_column, [c for c in names if c in wanted] or names[:1])


def _rows(path, config: Config, rows: np.ndarray) -> pd.DataFrame:
    """The given (sorted) rows of a table, read in chunks."""
    return pd.concat(frame.loc[rows[(rows >= frame.index[0]) & (rows <= frame.index[-1])]] for frame in _chunks(path, config))


def _chunks(path, config: Config) -> Iterator[pd.DataFrame]:
    """Stream a table as pandas frames indexed by row number (numbers as float64, the rest as text)."""
    start = 0
    for batch in tables.batches(path, config.id_column, CHUNK_BYTES):
        frame = batch.to_pandas()
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        if len(frame):
            yield frame


def _refuse_infinities(frame: pd.DataFrame, numeric: list[str], path) -> None:
    """An error naming the first infinite cell, column by column (rows are numbered from the header's 1)."""
    values = frame[numeric].to_numpy(dtype=float)
    columns, rows = np.nonzero(np.isinf(values).T)
    if len(columns):
        column, row = columns[0], rows[0]
        raise MemdevError(f"{path}: column {numeric[column]!r} has {values[row, column]} at row {frame.index[row] + 2}; "
                          f"replace infinities with a number or leave the cell empty")


def check_rows(n_train: int, n_test: int, config: Config, paths: Paths) -> None:
    if n_train < config.folds:
        raise MemdevError(
            f"{paths.train_file}: has {n_train} row{'' if n_train == 1 else 's'}; "
            f"{config.folds}-fold cross-validation needs at least {config.folds}"
        )
    if n_test == 0:
        raise MemdevError(f"{paths.test_file}: has a header but no rows")


def finish(config: Config, paths: Paths, transformer, numeric, categorical, y, test_ids: pd.DataFrame,
           width: int, test_rows: int, x_train_tmp) -> None:
    """Write what both paths share: labels, test ids, the transformer, the summary, and the
    manifest, which already holds the hash of X_train (still at ``x_train_tmp``)."""
    with atomic.atomic_path(paths.y_train) as tmp:
        np.save(tmp, y)
    with atomic.atomic_path(paths.test_ids) as tmp:
        test_ids.to_parquet(tmp, index=False)
    with atomic.atomic_path(paths.transformer) as tmp:
        tmp.write_bytes(pickle.dumps(transformer))
    info = {
        "numeric": numeric,
        "categorical": categorical,
        "features": int(width),
        "train_rows": int(len(y)),
        "test_rows": int(test_rows),
        "labeled_anomalies": int(y.sum()),
        "stamp": stamp(config, paths),
    }
    atomic.write_text(paths.features_info, json.dumps(info, indent=1))
    manifest.record(paths, [paths.x_train, paths.x_test, paths.y_train, paths.test_ids, paths.transformer],
                    staged={paths.x_train: x_train_tmp})
    log.info(
        f"preprocess: {len(numeric)} numeric + {len(categorical)} categorical columns -> "
        f"{width} features; train {len(y)} rows ({int(y.sum())} labeled anomalies), "
        f"test {test_rows} rows"
    )


def check_ids(test: pd.DataFrame, sample: pd.DataFrame, config: Config, paths: Paths) -> None:
    column = config.id_column
    for frame, path in ((test, paths.test_file), (sample, paths.sample_file)):
        if column not in frame.columns:
            raise MemdevError(f"{path}: has no id column {column!r} (the first column of sample_submission.csv)")
        duplicated = frame[column][frame[column].duplicated()]
        if len(duplicated):
            raise MemdevError(f"{path}: id {duplicated.iloc[0]!r} appears more than once in column {column!r}")
        if frame[column].isna().any():
            raise MemdevError(f"{path}: column {column!r} has an empty id at row {int(frame[column].isna().to_numpy().argmax()) + 2}")
    unknown = set(sample[column]) - set(test[column])
    if unknown:
        raise MemdevError(f"{paths.sample_file}: id {sorted(unknown)[0]!r} is not in {paths.test_file.name}")
    absent = set(test[column]) - set(sample[column])
    if absent:
        raise MemdevError(f"{paths.test_file}: id {sorted(absent)[0]!r} is not in {paths.sample_file.name}")


def config_digest(config: Config) -> str:
    """A short hash of the config keys this stage reads (:data:`CONFIG_KEYS`)."""
    text = json.dumps({key: getattr(config, key) for key in CONFIG_KEYS}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def stamp(config: Config, paths: Paths) -> dict[str, str]:
    """What the features are made from: the config keys this stage reads, and the train and test tables' bytes.

    The raw files' sha256 names the data the same way on every machine (the
    float bits of the features need not be), which tuning workers rely on.
    """
    return {"config": config_digest(config), "train": atomic.sha256(paths.train_file),
            "test": atomic.sha256(paths.test_file)}


def load_info(paths: Paths) -> dict:
    """``features.json``: columns, sizes and the stamp ({} before the stage ran)."""
    if not paths.features_info.exists():
        return {}
    return json.loads(paths.features_info.read_text(encoding="utf-8"))


def load_features(paths: Paths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X_train, y_train, X_test, memory-mapped where numpy can."""
    manifest.verify(paths, [paths.x_train, paths.x_test, paths.y_train])
    return (
        np.load(paths.x_train, mmap_mode="r"),
        np.load(paths.y_train),
        np.load(paths.x_test, mmap_mode="r"),
    )


def load_test_ids(paths: Paths, config: Config) -> pd.Series:
    """test.csv's ids as exact text, in its row order (the order of X_test's rows)."""
    return pd.read_parquet(paths.test_ids)[config.id_column].astype(str)
