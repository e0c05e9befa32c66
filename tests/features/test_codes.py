"""The boosted trees read each categorical column as one column of codes, not as its one-hot block."""

import numpy as np
import pandas as pd

from memdev.features.codes import CategoryCodes, one_hot_blocks
from memdev.features.preprocess import build_transformer


def frame(n: int = 60) -> pd.DataFrame:
    return pd.DataFrame({
        "size": np.arange(n, dtype=float),
        "colour": np.array(["red", "green", "blue"])[np.arange(n) % 3],
        "constant": "same",
        "shape": ["square"] * (n - 5) + ["circle"] * 5,  # circle is rarer than min_frequency: "infrequent"
        "weight": np.linspace(0, 1, n),
    })


def fitted(data: pd.DataFrame, categorical: list[str]):
    numeric = [c for c in data.columns if c not in categorical]
    return build_transformer(numeric, categorical).fit(data)


def test_each_categorical_column_owns_the_one_hot_columns_named_after_it():
    transformer = fitted(frame(), ["colour", "constant", "shape"])
    names = transformer.get_feature_names_out()
    blocks = one_hot_blocks(transformer)
    # the constant column's one column was dropped, so it has no block; shape's rare level has a column of its own
    assert [[names[c] for c in block] for block in blocks] == [
        ["colour_blue", "colour_green", "colour_red"], ["shape_square", "shape_infrequent_sklearn"]]


def test_without_categorical_columns_there_are_no_blocks():
    assert one_hot_blocks(fitted(frame()[["size", "weight"]], [])) == ()


def test_codes_are_the_position_of_the_one_in_each_block_and_come_first():
    data = frame()
    transformer = fitted(data, ["colour", "constant", "shape"])
    X = transformer.transform(data)
    out = CategoryCodes(one_hot_blocks(transformer)).fit_transform(X)
    colour = pd.Series(data["colour"]).map({"blue": 0, "green": 1, "red": 2}).to_numpy()
    np.testing.assert_array_equal(out[:, 0], colour)
    np.testing.assert_array_equal(out[:, 1], (data["shape"] == "circle").astype(int))
    np.testing.assert_array_equal(out[:, 2:], X[:, [0, 1]])  # the numeric columns, in their order


def test_a_level_unseen_in_training_gets_a_code_of_its_own_and_appended_columns_pass_through():
    data = frame()
    transformer = fitted(data[["size", "colour"]], ["colour"])
    unseen = transformer.transform(pd.DataFrame({"size": [1.0], "colour": ["purple"]}))
    codes = CategoryCodes(one_hot_blocks(transformer)).fit(unseen)
    out = codes.transform(np.c_[unseen, [[7.0, 8.0]]])  # two columns appended, as the stack appends the MemAE's
    np.testing.assert_array_equal(out[0], [3, unseen[0, 0], 7.0, 8.0])
