"""The helpers every report page shares: view ranges, numbers, tables, and atomic, announced writes."""

import numpy as np
import pandas as pd
import pytest
import report_fakes as fakes

from memdev.reporting import plots


def test_the_view_clips_a_few_extreme_values_but_keeps_every_mark():
    values = np.concatenate([np.linspace(0, 1, 997), [5e5, -7e5, 2e4]])
    low, high, clipped = plots.view(values)
    assert -0.1 < low < 0 and 1 < high < 1.1 and clipped >= 3  # the bulk in view, the extremes out
    low, high, clipped = plots.view(values, 3.0)
    assert high > 3.0 and clipped >= 3
    low, high, clipped = plots.view(np.linspace(0, 1, 100))  # nothing extreme: the whole range
    assert (low, high, clipped) == (pytest.approx(-0.02), pytest.approx(1.02), 0)
    assert plots.view(np.ones(10)) == (pytest.approx(0.48), pytest.approx(1.52), 0)  # constant: a unit range


def test_skewed_values_ask_for_a_log_scale():
    rng = np.random.default_rng(0)
    assert plots.skewed(np.concatenate([rng.uniform(1, 2, 5000), [1e4] * 10]))
    assert not plots.skewed(rng.uniform(1, 2, 5000))
    assert not plots.skewed(np.zeros(10))


def test_numbers_and_markdown_tables():
    assert plots.number(0.123456) == "0.1235" and plots.number(2, 1) == "2.0"
    assert plots.number(None) == plots.number(float("nan")) == ""
    frame = pd.DataFrame({"name": ["a", "b"], "value": [1.5, np.nan]})
    assert plots.markdown_table(frame, right=("value",)) == [
        "| name | value |", "|---|---:|", "| a | 1.5 |", "| b |  |"]
    assert plots.figure_section("x.png", "Title", "Caption.") == ["### Title", "", "![Title](x.png)", "", "Caption.", ""]


def test_pages_tables_and_figures_are_written_atomically_recorded_and_announced(tmp_path, caplog):
    written = []
    plots.write("study", tmp_path / "page.md", "# page\n", written)
    plots.write("study", tmp_path / "table.csv", pd.DataFrame({"a": [1, 2]}), written)
    figure, axes = plots.figure("title", "x", "y")
    axes.plot([0, 1], [0, 1], label="line")
    plots.legend(axes)
    plots.save("study", tmp_path / "figure.png", figure, written)

    assert written == [tmp_path / "page.md", tmp_path / "table.csv", tmp_path / "figure.png"]
    assert (tmp_path / "page.md").read_text() == "# page\n"
    assert (tmp_path / "table.csv").read_text() == "a\n1\n2\n"
    assert (tmp_path / "figure.png").read_bytes().startswith(fakes.PNG)
    assert not plots.pyplot().get_fignums(), "the figure is closed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png", "page.md", "table.csv"]
    assert fakes.messages(caplog) == [f"study: wrote {p}" for p in written]


def test_stale_files_are_removed_unless_this_run_wrote_them(tmp_path, caplog):
    for name in ("old.png", "new.png"):
        (tmp_path / name).write_bytes(fakes.PNG)
    plots.remove_stale("report", tmp_path, ("old.png", "new.png", "never.png"), [tmp_path / "new.png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.png"]
    assert fakes.messages(caplog) == [f"report: removed stale {tmp_path / 'old.png'}"]
