"""What a run prints when it is not at a terminal (CI, a log file): a line per fold, no bar redraws, no noise.

The stages run as a user's ``make train tune submit`` runs them, through the
CLI in a subprocess whose output goes to pipes, not a terminal.
"""

import re

import pytest

from conftest import memdev

pytestmark = pytest.mark.slow

NOISE = re.compile(r"Epoch \d|\d+/\d+ - \d+m?s|Warning|warn\(|oneDNN|cuda|absl|super\(\)\.__init__", re.I)
# what goes to standard error: "<stage>: <unit> <done>/<total>[: note] [elapsed<left]"; pretrain's K fold
# MemAEs train together, as one step
PROGRESS = re.compile(r"(\w+): (fold \d+/\d+|trial \d+/\d+|\d+ fold MemAEs)(: .*)? \[[\d:]+<[\d:]+\]")


def run(root, *args: str) -> tuple[list[str], list[str]]:
    """Standard output's lines, and the progress lines on standard error (nothing else may be there)."""
    result = memdev(root, *args)
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr  # no bar redraws
    other = [line for line in result.stderr.splitlines() if not PROGRESS.fullmatch(line)]
    assert not other, "\n".join(other)
    return result.stdout.splitlines(), result.stderr.splitlines()


def steps(err: list[str]) -> list[str]:
    return [" ".join(PROGRESS.fullmatch(line).group(1, 2)) for line in err]


def test_train_tune_submit_print_a_line_per_fold_and_trial_and_keep_the_cv_table(tiny):
    out, err = run(tiny.root, "train", "--comp", "tiny")
    assert steps(err) == ["pretrain 2 fold MemAEs", "finetune fold 1/2", "finetune fold 2/2", "test fold 1/2",
                          "test fold 2/2"]
    assert re.fullmatch(r"pretrain: 2 fold MemAEs: 2 epochs \[\d\d:\d\d<\d\d:\d\d\]", err[0])
    assert out[0].startswith("preprocess: ") and out[1].startswith("pretrain: 2 MemAEs in")
    assert out[2].startswith("cross-validation (2 folds, regime full): model ")
    assert any(line.startswith("nested CV ") for line in out) and out[-1].startswith("verdict (nested CV): ")
    lines = out + err

    out, err = run(tiny.root, "tune", "--comp", "tiny", "--trials", "2")
    assert steps(err)[:2] == ["tune trial 1/2", "tune trial 2/2"]
    assert re.fullmatch(r"tune: trial 2/2: #1 (\d\.\d{4}|pruned[^,]*), best \d\.\d{4} \(#\d\) \[\d\d:\d\d<00:00\]", err[1])
    assert steps(err)[2:] in ([], ["test fold 1/2", "test fold 2/2"])  # the winner's test scores, if it trained
    lines += out + err

    out, err = run(tiny.root, "submit", "--comp", tiny.slug)  # tune left the winner's models: no retraining
    lines += out + err
    assert re.fullmatch(re.escape(str(tiny.submissions)) + r"/\S+\.csv", out[-1])  # still the last stdout line
    assert steps(err) == []

    noise = [line for line in lines if NOISE.search(line)]
    assert not noise, noise
    # preprocess, pretrain and its line, finetune's and test's 2 folds, the CV table of 20 lines;
    # tune: 2 trials, the winner's 2 test folds and lines about the study; submit: 2 lines
    assert len(lines) <= 45, f"{len(lines)} lines:\n" + "\n".join(lines)


def test_verbose_adds_a_line_per_epoch_of_the_folds_trained_together(tiny):
    result = memdev(tiny.root, "--verbose", "pretrain", "--comp", "tiny")
    assert result.returncode == 0, result.stderr
    err = result.stderr.splitlines()
    assert [line for line in err if line.startswith("  epoch")] == err[:2]  # 2 epochs, all folds in each
    assert re.fullmatch(r"  epoch 1/2, loss \S+", err[0]) and PROGRESS.fullmatch(err[2])
