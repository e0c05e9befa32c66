"""Progress of a running stage: one bar per stage, its folds and epochs inside it.

A stage opens a bar of ``total`` steps (folds, trials) with :func:`stage` and
calls :meth:`Bar.advance` after each one; a training loop reports its epochs
with :func:`epoch_done`, which moves the innermost open bar within its
current step. At a terminal the bars are tqdm bars on standard error, so
standard output keeps only results (``make submit``'s last line is the CSV's
path); anywhere else (CI, a log file) each step is one line instead of bar
redraws. A bar goes when its stage ends, leaving the stage's own summary
lines; a stage opened inside another (a tuning trial's folds) gets a bar
below the outer one at a terminal, and no lines in a log.

Nothing is shown until :func:`configure` is called, as the CLI does: library
code, the tests and the notebook run quietly.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import IO, Iterator

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

# the note after the times, so the bar keeps its place while the note changes
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar:24}| {elapsed}<{remaining}{postfix}"
REDRAW_SECONDS = 0.25  # at most four redraws a second, however fast the epochs


class _Settings:
    stream: IO[str] | None = None  # None: show nothing
    bars = False
    verbose = False


_settings = _Settings()
_open: list["Bar"] = []


def configure(stream: IO[str] | None = sys.stderr, verbose: bool = False, bars: bool | None = None) -> None:
    """Show progress on ``stream`` (None: nowhere).

    Parameters
    ----------
    stream : file-like or None
        Where bars or lines go; standard error by default.
    verbose : bool
        Also a line per training epoch (see :func:`epoch_done`); bars then
        give way to one line per step, so the two do not interleave.
    bars : bool, optional
        Redrawn bars rather than lines; by default, whether ``stream`` is a terminal.
    """
    _settings.stream = stream
    _settings.verbose = verbose
    terminal = stream is not None and stream.isatty()
    _settings.bars = (terminal and not verbose) if bars is None else bars


class Bar:
    """The progress of one stage: ``total`` steps of ``unit``, each perhaps in parts (epochs)."""

    def __init__(self, name: str, total: int, unit: str, nested: bool, show: bool = True):
        self.name, self.total, self.unit, self.nested = name, max(int(total), 1), unit, nested
        self.done = 0  # whole steps
        self.started = time.monotonic()
        self.show = show and total > 0 and _settings.stream is not None
        self._tqdm = None
        if self.show and _settings.bars:
            self._tqdm = tqdm(total=self.total, desc=name, file=_settings.stream, leave=False, bar_format=BAR_FORMAT,
                              postfix=self._step(1), dynamic_ncols=True, mininterval=REDRAW_SECONDS)

    def advance(self, n: int = 1, note: str = "") -> None:
        """``n`` more steps are done; ``note`` says how they went (one line in a log)."""
        self.done = min(self.done + n, self.total)
        self._show(0.0, self._step(self.done) + " done" + (f", {note}" if note else ""))
        if self.show and self._tqdm is None and not self.nested:
            elapsed = time.monotonic() - self.started
            left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
            text = f"{self.name}: {self._step(self.done)}" + (f": {note}" if note else "")
            print(f"{text} [{tqdm.format_interval(elapsed)}<{tqdm.format_interval(left)}]",
                  file=_settings.stream, flush=True)

    def within(self, done: float, of: float, note: str = "") -> None:
        """``done`` of the ``of`` parts of the current step are done (epochs of a fold); no line in a log."""
        step = self._step(min(self.done + 1, self.total))
        self._show(min(max(done / of, 0.0), 1.0) if of else 0.0, step + (f", {note}" if note else ""))

    def _step(self, number: int) -> str:
        """``fold 2/5``; a stage of one step is named by its unit alone."""
        return f"{self.unit} {number}/{self.total}" if self.total > 1 else self.unit

    def _show(self, part: float, text: str) -> None:
        if self._tqdm is not None:
            self._tqdm.set_postfix_str(text, refresh=False)
            self._tqdm.update(self.done + part - self._tqdm.n)

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()


@contextlib.contextmanager
def stage(name: str, total: int, unit: str = "fold") -> Iterator[Bar]:
    """A bar for stage ``name`` of ``total`` steps of ``unit``, closed when the block ends.

    While a bar is on the terminal, the package's log lines are written above
    it (tqdm's logging redirect) instead of through it.
    """
    bar = Bar(name, total, unit, nested=bool(_open))
    _open.append(bar)
    try:
        if bar.nested or bar._tqdm is None:  # lines only, or the outer bar already redirects
            yield bar
        else:
            with logging_redirect_tqdm([logging.getLogger("memdev")]):
                yield bar
    finally:
        _open.remove(bar)
        bar.close()


def current() -> Bar:
    """The innermost open stage's bar; a quiet one when none is open."""
    return _open[-1] if _open else Bar("", 1, "", nested=True, show=False)


def epoch_done(epoch: int, epochs: int, loss: float | None = None) -> None:
    """A training loop finished ``epoch`` (1-based) of at most ``epochs``: the hook every training loop calls.

    With ``verbose``, also a line for the epoch.
    """
    note = f"epoch {epoch}/{epochs}" + ("" if loss is None else f", loss {loss:.4g}")
    current().within(epoch, epochs, note)
    if _settings.verbose and _settings.stream is not None:
        print(f"  {note}", file=_settings.stream, flush=True)
