"""The one exception type a user sees: a clear message, no traceback."""


class MemdevError(Exception):
    """A problem with the user's input or environment, stated plainly.

    The CLI prints the message and exits non-zero; ``--debug`` shows the
    traceback as well.
    """
