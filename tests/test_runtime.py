"""The process a stage runs in: what reaches the user's terminal."""

import warnings

from memdev import runtime


def test_numpys_copy_warning_stays_hidden_even_while_another_thread_has_cleared_the_filters():
    shown = []
    with warnings.catch_warnings():
        warnings.showwarning = lambda message, *args, **kwargs: shown.append(str(message))
        runtime.configure_logging()
        warnings.resetwarnings()  # what scikit-learn's parallel helper does for a moment in its thread
        warnings.simplefilter("always")
        warnings.warn(runtime.NUMPY_COPY + ", so passing copy=False failed.", DeprecationWarning)
        warnings.warn("a warning worth reading", UserWarning)
    assert shown == ["a warning worth reading"]
