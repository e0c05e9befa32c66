"""The compiled loop of stacked members, and reading rows of a memory-mapped matrix in order."""

import keras
import numpy as np
import pytest

from memdev.models.loop import CompiledLoop, optimizer, read_rows, stacked_dense


def test_read_rows_keeps_the_order_asked_for_on_a_memory_map(tmp_path):
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64, shape=(10, 2))
    X[:] = np.arange(20).reshape(10, 2)
    for rows in ([3, 4, 5], [1, 3, 9], [9, 0, 4, 4], []):
        out = read_rows(X, np.array(rows, dtype=int))
        assert out.dtype == np.float32 and out.shape == (len(rows), 2)
        np.testing.assert_array_equal(out, np.asarray(X)[rows])


def linear_problem(members=3, seed=0):
    """K least-squares problems y = x·w_k, one per member, and their stacked weights (K, 4, 1), (K, 1)."""
    rng = np.random.default_rng(seed)
    variables = [keras.Variable(rng.normal(size=(members, 4, 1)).astype(np.float32)),
                 keras.Variable(np.zeros((members, 1), np.float32))]

    def member_loss(x, y):
        return keras.ops.mean(keras.ops.square(stacked_dense(x, variables, None)[..., 0] - y), axis=1)

    x = rng.normal(size=(6, members, 8, 4)).astype(np.float32)  # 6 steps of 8 rows per member
    y = (x @ rng.normal(size=(members, 4, 1)).astype(np.float32))[..., 0]
    return variables, member_loss, x, y


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_many_steps_in_one_call_are_the_same_steps_one_call_each(name):
    together, loss, x, y = linear_problem()
    CompiledLoop(together, loss, optimizer(name, 0.05)).run(x, y)
    one_by_one, loss, _, _ = linear_problem()
    loop = CompiledLoop(one_by_one, loss, optimizer(name, 0.05))
    for i in range(len(x)):
        loop.run(x[i:i + 1], y[i:i + 1])
    for a, b in zip(together, one_by_one):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_each_member_trains_as_if_alone_and_reports_its_own_loss():
    variables, loss, x, y = linear_problem()
    losses = CompiledLoop(variables, loss, optimizer("adam", 0.05)).run(x, y)
    assert losses.shape == (3,)
    for k in range(3):
        alone, _, _, _ = linear_problem()
        alone = [keras.Variable(v.numpy()[k:k + 1]) for v in alone]

        def own(xk, yk):
            return keras.ops.mean(keras.ops.square(stacked_dense(xk, alone, None)[..., 0] - yk), axis=1)

        assert CompiledLoop(alone, own, optimizer("adam", 0.05)).run(x[:, k:k + 1], y[:, k:k + 1])[0] == pytest.approx(
            losses[k], rel=1e-5)
        np.testing.assert_allclose(alone[0].numpy()[0], variables[0].numpy()[k], rtol=1e-5, atol=1e-6)
