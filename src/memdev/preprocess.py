"""The preprocess stage: raw CSVs in, float32 feature matrices out.

A scikit-learn ``ColumnTransformer`` fitted on train.csv only: numbers are
imputed (with missing-indicators), scaled robustly and squashed with arcsinh
so heavy tails do not dominate a squared error; categories are imputed and
one-hot encoded with rare levels grouped and unseen levels tolerated;
constant outputs are dropped.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, RobustScaler

from . import atomic, manifest, schema
from .config import Config
from .errors import MemdevError
from .paths import Paths
from .tables import read_csv

# A text column whose values are at least this share numbers is a numeric
# column with a few broken cells, not a categorical one.
NUMERIC_SHARE = 0.9


def build_transformer(numeric: list[str], categorical: list[str]) -> Pipeline:
    numbers = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("scale", RobustScaler(quantile_range=(5.0, 95.0))),
        ("squash", FunctionTransformer(np.arcsinh, feature_names_out="one-to-one")),
    ])
    categories = Pipeline([
        ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
        ("onehot", OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=10, max_categories=50,
            sparse_output=False, dtype=np.float32,
        )),
    ])
    columns = ColumnTransformer(
        [("numeric", numbers, numeric), ("categorical", categories, categorical)],
        verbose_feature_names_out=False,
    )
    return Pipeline([("columns", columns), ("drop_constant", VarianceThreshold())])


def feature_columns(train: pd.DataFrame, test: pd.DataFrame, config: Config, paths: Paths) -> tuple[list[str], list[str]]:
    """Split the shared columns into numeric and categorical, checking both files agree."""
    drop = {config.id_column, config.target_column}
    train_cols = [c for c in train.columns if c not in drop]
    test_cols = [c for c in test.columns if c not in drop]
    missing = [c for c in train_cols if c not in test_cols]
    extra = [c for c in test_cols if c not in train_cols]
    if missing:
        raise MemdevError(f"{paths.test_csv}: column {missing[0]!r} of train.csv is missing from test.csv")
    if extra:
        raise MemdevError(f"{paths.test_csv}: column {extra[0]!r} is not in train.csv")
    if not train_cols:
        raise MemdevError(f"{paths.train_csv}: no feature columns besides id and target")
    numeric, categorical = [], []
    for column in train_cols:
        for frame, path in ((train, paths.train_csv), (test, paths.test_csv)):
            if frame[column].isna().all() and len(frame) > 0:
                raise MemdevError(
                    f"{path}: column {column!r} is entirely empty; remove it from train.csv and test.csv"
                )
        series = train[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            _refuse_broken_numbers(train, column, paths.train_csv)
            categorical.append(column)
        else:
            numeric.append(column)
    for column in numeric:
        for frame, path in ((train, paths.train_csv), (test, paths.test_csv)):
            values = pd.to_numeric(frame[column], errors="coerce")
            if not pd.api.types.is_numeric_dtype(frame[column]):
                bad = frame[column][values.isna() & frame[column].notna()]
                raise MemdevError(f"{path}: column {column!r} is numeric in train.csv but has {bad.iloc[0]!r} at row {bad.index[0] + 2}")
            infinite = np.isinf(values.to_numpy(dtype=float))
            if infinite.any():
                row = int(np.flatnonzero(infinite)[0])
                raise MemdevError(f"{path}: column {column!r} has {values.iloc[row]} at row {row + 2}; replace infinities with a number or leave the cell empty")
    return numeric, categorical


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
    train = read_csv(paths.train_csv, config.id_column)
    test = read_csv(paths.test_csv, config.id_column)
    sample = read_csv(paths.sample_csv, config.id_column)
    if len(train) < config.folds:
        raise MemdevError(
            f"{paths.train_csv}: has {len(train)} rows; {config.folds}-fold cross-validation needs at least {config.folds}"
        )
    if len(test) == 0:
        raise MemdevError(f"{paths.test_csv}: has a header but no rows")
    check_ids(test, sample, config, paths)
    y = schema.target_vector(train, config, paths.train_csv)
    numeric, categorical = feature_columns(train, test, config, paths)
    transformer = build_transformer(numeric, categorical)
    x_train = transformer.fit_transform(train[numeric + categorical]).astype(np.float32)
    x_test = transformer.transform(test[numeric + categorical]).astype(np.float32)
    for name, array in (("X_train", x_train), ("X_test", x_test)):
        if not np.isfinite(array).all():
            raise MemdevError(f"{name}: non-finite features after preprocessing; a column overflows float32")
    for path, array in ((paths.x_train, x_train), (paths.x_test, x_test), (paths.y_train, y)):
        with atomic.atomic_path(path) as tmp:
            np.save(tmp, array)
    with atomic.atomic_path(paths.test_ids) as tmp:
        test[[config.id_column]].to_parquet(tmp, index=False)
    with atomic.atomic_path(paths.transformer) as tmp:
        tmp.write_bytes(pickle.dumps(transformer))
    info = {
        "numeric": numeric,
        "categorical": categorical,
        "features": int(x_train.shape[1]),
        "train_rows": int(len(x_train)),
        "test_rows": int(len(x_test)),
        "labeled_anomalies": int(y.sum()),
    }
    atomic.write_text(paths.features / "features.json", json.dumps(info, indent=1))
    manifest.record(paths, [paths.x_train, paths.x_test, paths.y_train, paths.test_ids, paths.transformer])
    print(
        f"preprocess: {len(numeric)} numeric + {len(categorical)} categorical columns -> "
        f"{x_train.shape[1]} features; train {x_train.shape[0]} rows ({int(y.sum())} labeled anomalies), "
        f"test {x_test.shape[0]} rows"
    )


def check_ids(test: pd.DataFrame, sample: pd.DataFrame, config: Config, paths: Paths) -> None:
    column = config.id_column
    for frame, path in ((test, paths.test_csv), (sample, paths.sample_csv)):
        if column not in frame.columns:
            raise MemdevError(f"{path}: has no id column {column!r} (the first column of sample_submission.csv)")
        duplicated = frame[column][frame[column].duplicated()]
        if len(duplicated):
            raise MemdevError(f"{path}: id {duplicated.iloc[0]!r} appears more than once in column {column!r}")
        if frame[column].isna().any():
            raise MemdevError(f"{path}: column {column!r} has an empty id at row {int(frame[column].isna().to_numpy().argmax()) + 2}")
    unknown = set(sample[column]) - set(test[column])
    if unknown:
        raise MemdevError(f"{paths.sample_csv}: id {sorted(unknown)[0]!r} is not in test.csv")
    absent = set(test[column]) - set(sample[column])
    if absent:
        raise MemdevError(f"{paths.test_csv}: id {sorted(absent)[0]!r} is not in sample_submission.csv")


def load_features(paths: Paths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X_train, y_train, X_test, memory-mapped where numpy can."""
    manifest.verify(paths, [paths.x_train, paths.x_test, paths.y_train])
    return (
        np.load(paths.x_train, mmap_mode="r"),
        np.load(paths.y_train),
        np.load(paths.x_test, mmap_mode="r"),
    )
