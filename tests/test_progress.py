"""Progress: bars at a terminal, a line per step elsewhere, nothing unless the CLI asks for it."""

import io
import logging
import sys

from memdev import progress


def test_nothing_is_shown_until_configured(capsys):
    progress.configure(None)
    with progress.stage("pretrain", 3) as bar:
        progress.epoch_done(1, 10)
        bar.advance(1, "done")
    assert capsys.readouterr() == ("", "")


def test_a_log_gets_one_line_per_step_of_the_outer_stage_only():
    out = io.StringIO()
    progress.configure(out)  # a StringIO is not a terminal: lines, not bars
    with progress.stage("tune", 2, "trial") as trials:
        for number in range(2):
            with progress.stage(f"trial {number}", 3) as folds:
                for _ in range(3):
                    progress.epoch_done(5, 10, loss=0.25)  # inside a step: no line
                    folds.advance(1, "f1 0.5 so far")
            trials.advance(1, f"#{number} 0.5")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("tune: trial 1/2: #0 0.5 [") and lines[1].startswith("tune: trial 2/2: #1 0.5 [")
    assert "\r" not in out.getvalue()


def test_a_terminal_gets_a_bar_with_folds_and_epochs_and_loses_it_at_the_end(monkeypatch):
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0)
    out = io.StringIO()
    progress.configure(out, bars=True)
    with progress.stage("pretrain", 2) as bar:
        progress.epoch_done(3, 10, loss=0.125)
        text = out.getvalue()
        bar.advance(1, "10 epochs")
    assert text.startswith("\rpretrain:   0%") and "| 00:00<?, fold 1/2" in text
    assert "fold 1/2, epoch 3/10, loss 0.125" in text
    assert "fold 1/2 done, 10 epochs" in out.getvalue()
    assert out.getvalue().endswith("\r")  # cleared when the stage ends, not left behind


def test_log_lines_are_written_above_the_bar(capsys):
    package = logging.getLogger("memdev")
    saved = package.handlers[:], package.propagate
    handler = logging.StreamHandler(sys.stdout)
    package.handlers[:], package.propagate = [handler], False
    try:
        progress.configure(io.StringIO(), bars=True)
        with progress.stage("finetune", 1) as bar:
            logging.getLogger("memdev.test").info("a message")
            bar.advance(1)
        assert package.handlers == [handler]  # put back after the stage
    finally:
        package.handlers[:], package.propagate = saved
    assert "a message" in capsys.readouterr().out


def test_verbose_adds_a_line_per_epoch_and_turns_bars_into_lines():
    out = io.StringIO()
    progress.configure(out, verbose=True, bars=None)
    with progress.stage("pretrain", 2) as bar:
        progress.epoch_done(1, 3, loss=0.5)
        bar.advance(1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  epoch 1/3, loss 0.5" and lines[1].startswith("pretrain: fold 1/2 [")


def test_a_stage_of_one_step_is_named_by_its_unit():
    out = io.StringIO()
    progress.configure(out)
    with progress.stage("pretrain", 1, "5 MemAEs") as bar:
        bar.advance(1, "12 epochs")
    assert out.getvalue().startswith("pretrain: 5 MemAEs: 12 epochs [")


def test_a_stage_of_no_steps_shows_nothing():
    out = io.StringIO()
    progress.configure(out)
    with progress.stage("tune", 0, "trial"):
        pass
    assert out.getvalue() == ""
