"""memdev.bench.speed: which competitions it times, the ratios it draws, and its section (the runs are the bench's)."""

import zipfile

from memdev.bench import render, speed
from memdev.bench.speed import Comparison, Side


def practice(tmp_path, rows: dict[str, int]):
    for slug, n in rows.items():
        (tmp_path / f"{slug}.json").write_text("{}")
        with zipfile.ZipFile(tmp_path / f"{slug}.zip", "w") as archive:
            archive.writestr("train.csv", "id,x\n" + "".join(f"{i},0\n" for i in range(n)))
    return tmp_path


def test_it_times_the_demo_the_small_competitions_and_bank_marketing(tmp_path):
    source = practice(tmp_path, {"thyroid": 30, "shuttle": speed.SMALL_ROWS, "bank-marketing": speed.SMALL_ROWS + 5})
    assert speed.competitions(source) == [("demo", 1257), ("bank-marketing", speed.SMALL_ROWS + 5), ("thyroid", 30)]


def side(seconds, trials=None) -> Side:
    return Side(seconds=seconds, load={key: 9.5 for key in seconds}, trials=trials or {},
                cv={"gbm": (0.60, 0.02), "devnet": (0.50, 0.01)})


def test_ratios_and_trials_per_hour():
    bank = Comparison("bank-marketing", 28_832, "f1", base=side({"train": 400.0, "tune": 3600.0}, {"COMPLETE": 4}),
                      ours=side({"train": 50.0, "tune": 600.0}, {"COMPLETE": 3, "PRUNED": 3}))
    assert bank.ratio("train") == 8.0 and bank.ratio("job") is None
    assert bank.base.per_hour() == 4.0 and bank.ours.per_hour() == 36.0


def test_a_trial_that_took_make_trains_cv_untrained_is_not_counted_as_throughput():
    ours = side({"train": 50.0, "tune": 600.0}, {"COMPLETE": 3, "PRUNED": 3, "REUSED": 1})
    assert ours.per_hour() == 36.0
    base = side({"train": 400.0, "tune": 3600.0}, {"COMPLETE": 4})
    bank = Comparison("bank-marketing", 28_832, "f1", base=base, ours=ours)
    text = render.speed_section([bank], "header", "abc123", 6)
    assert "3 / 3 / 0 and 1 taken from `make train`'s CV untrained, not counted after" in text


def test_the_section_gives_both_timings_the_ratio_the_targets_and_the_cv_before_and_after():
    demo = Comparison("demo", 1257, "f1", base=side({"train": 200.0, "job": 960.0}), ours=side({"train": 15.0, "job": 100.0}))
    demo.ours.cv["devnet"] = (0.52, 0.01)
    bank = Comparison("bank-marketing", 28_832, "f1", base=side({"train": 400.0, "tune": 3600.0}, {"COMPLETE": 4}),
                      ours=side({"train": 50.0, "tune": 600.0}, {"COMPLETE": 3, "PRUNED": 3}))
    broken = Comparison("thyroid", 2_640, error="RuntimeError: make train failed | exit 2")
    text = render.speed_section([demo, bank, broken], "header", "abc123", 6)
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert "| demo | 1,257 | 200.0 (9.5) | 15.0 (9.5) | 13.3× | < 20 s | **met** |" in rows
    assert "| bank-marketing | 28,832 | 400.0 (9.5) | 50.0 (9.5) | 8.0× | < 40 s and ≥ 3× | missed: 1.2× the target |" in rows
    assert any(r.startswith("| thyroid |") and "RuntimeError: make train failed / exit 2" in r for r in rows)
    assert any("make train tune submit` (TRIALS=6)" in r and "9.6×" in r and "**met**" in r for r in rows)
    assert any("trials per hour" in r and "| 4.0 | 36.0 | 9.0× | ≥ 5× | **met** |" in r for r in rows)
    assert "| demo | f1 | devnet | 0.5000 ± 0.0100 | 0.5200 ± 0.0100 | +2.00 **beyond one std** |" in rows
    assert "| demo | f1 | gbm | 0.6000 ± 0.0200 | 0.6000 ± 0.0200 | +0.00 |" in rows
    assert "`abc123`" in text


def test_bank_marketing_under_40_seconds_but_less_than_3x_faster_is_missed():
    bank = Comparison("bank-marketing", 28_832, "f1", base=side({"train": 88.3}), ours=side({"train": 39.6}))
    rows = [line for line in render.speed_section([bank], "header", "abc123", 6).splitlines() if line.startswith("| bank")]
    assert rows[0].endswith("| 2.2× | < 40 s and ≥ 3× | missed: under the seconds (< 3× faster) |")


def test_the_profiles_top_lines_follow_before_and_after():
    from memdev.bench.profile import Line, Profile

    demo = Comparison("demo", 1257, "f1", base=side({"train": 200.0}), ours=side({"train": 15.0}))
    demo.ours.profile = Profile(20.5, [Line(9.5, 0.1, 1, "memdev/training/fit.py:40(run)")],
                                [Line(6.0, 6.0, 300, "<built-in method TFE_Py_Execute>")])
    text = render.speed_section([demo], "header", "abc123", 6)
    assert "### Profile of `make train`" in text and "**demo, after**: 20.5 s profiled" in text
    assert "**demo, before**" not in text  # the baseline was not profiled
    assert "| 9.50 | 0.10 | 1 | `memdev/training/fit.py:40(run)` |" in text
    assert "| 6.00 | 6.00 | 300 | `<built-in method TFE_Py_Execute>` |" in text
