"""The process a stage runs in: its messages, seeding and determinism (same config, seed and machine: same bytes)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings


def configure_logging() -> None:
    """Every stage's messages as plain lines on standard output, as ``make`` shows them."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package = logging.getLogger("memdev")
    package.handlers[:] = [handler]
    package.setLevel(logging.INFO)
    package.propagate = False
    # Optuna's importance estimate (after `make tune`, in the dashboard) warns whenever a
    # parameter value has a single trial, as it always has after a few trials
    warnings.filterwarnings("ignore", message="Some regimes for parameter", category=UserWarning)
    # Keras's TensorFlow backend converts tensors with np.array(x), which NumPy 2 warns about; nothing a user can change
    warnings.filterwarnings("ignore", message=NUMPY_COPY, category=DeprecationWarning)
    # scikit-learn's parallel helper clears Python 3.11's process-wide filters for a moment in its own thread while
    # it copies them, so now and then a warning of another thread slips through: dropped where it is shown too
    if not getattr(warnings.showwarning, "memdev", False):
        warnings.showwarning = unless_numpy_copy(warnings.showwarning)


NUMPY_COPY = "__array__ implementation doesn't accept a copy keyword"


def unless_numpy_copy(show):
    """``show`` (:func:`warnings.showwarning`) for every warning but NumPy's :data:`NUMPY_COPY`."""
    def showwarning(message, *args, **kwargs):
        if not str(message).startswith(NUMPY_COPY):
            show(message, *args, **kwargs)
    showwarning.memdev = True
    return showwarning


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for the duration.

    TensorFlow's C++ start-up lines (oneDNN, CUDA drivers, absl) ignore
    TF_CPP_MIN_LOG_LEVEL (tensorflow/tensorflow#100442) and would bury the
    pipeline's own output; Python exceptions still surface after the block.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def seed_everything(seed: int, threads: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow, make TensorFlow's ops deterministic, and set its threads.

    ``threads`` (0: TensorFlow's default, one per core) takes effect only
    before TensorFlow's first op, i.e. once per process.
    """
    with native_stderr_silenced():
        import keras
        import tensorflow as tf

        if threads and tf.config.threading.get_intra_op_parallelism_threads() != threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        tf.config.list_physical_devices()  # probing for a GPU logs natively too

    tf.get_logger().setLevel("ERROR")
    keras.utils.set_random_seed(seed)  # Python, NumPy and the backend
    tf.config.experimental.enable_op_determinism()
