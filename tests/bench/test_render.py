"""memdev.bench.render: BENCHMARKS.md's sections from measured results (the runs themselves are `make bench`)."""

import re
from datetime import datetime, timezone
from pathlib import Path

from conftest import REPO
from memdev.bench import render
from memdev.bench.results import PRIVATE, PUBLIC, Model, Result
from memdev.bench.throughput import Speed
from memdev.bench.tuning import TuningRun


def scored(name: str, public: float, private: float | None = None) -> Model:
    model = Model(name, Path(f"{name}.csv"), 10.0, 1.0, 100.0)
    halves = {PUBLIC: public, PRIVATE: private}
    model.scores = {half: {"score": v, "auc_pr": 0.5, "auc_roc": 0.9} for half, v in halves.items() if v is not None}
    model.scores["metric"] = "average_precision"
    return model


SPEED = Speed(rows=100_000, features=100, predict_rows=1_000_000, train=150_000.0, predict=250_000.0,
              config={"hidden": [64], "latent": 16, "memory_size": 50, "batch_size": 512})


def thyroid(seed: int, public: float) -> Result:
    return Result("thyroid", metric="average_precision", regime="weak", chosen="devnet", cv=0.9, seed=seed,
                  models=[scored("pipeline", public), scored("IsolationForest", 0.41),
                          scored("HistGradientBoosting", 0.52)])


def table_rows(text: str, heading: str) -> list[str]:
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_met_says_by_how_much():
    assert render.met(0.98, 0.97) == "**met** (+0.0100)"
    assert render.met(0.60, 0.65) == "missed by 0.0500"
    assert render.met(None, 0.65) == "not run"


def test_results_are_means_over_seeds_on_the_public_half_with_the_targets_and_throughput():
    text = render.bench_sections([thyroid(0, 0.80), thyroid(1, 0.84)], ["cardio"], SPEED, "header", [0, 1])
    head, _, row, pending = table_rows(text, "## Results")
    assert "private" not in head.lower() and "pipeline Public" in head
    assert row.startswith("| thyroid | weak | average_precision | n/a | 0.8200 ± 0.0200 | 0.4100 ± 0.0000 | "
                          "0.5200 ± 0.0000 | n/a | n/a | 0.5200 (HistGradientBoosting) |")
    assert pending.startswith("| cardio | not run |")
    # the single-run tables take the first seed's run
    assert ("| thyroid | average_precision | 0.977 (HistGradientBoosting) | 0.5200 (HistGradientBoosting) "
            "| ≥ 0.97 | 0.8000 | missed by 0.1700 |") in text
    assert "| `make train` on bank-marketing, seconds | n/a | < 40 | not run |" in text
    assert "| 150,000 | ≥ 250,000 | missed: 60% of the target |" in text and "missed: 50% of the target" in text


def test_a_failed_run_still_renders():
    failed = Result("cardio", seed=1, error="RuntimeError: make train failed | twice")
    text = render.bench_sections([thyroid(0, 0.8), failed], [], SPEED, "header")
    assert "| cardio | seed 1 failed: RuntimeError: make train failed / twice |" in text


def test_the_header_names_the_command_the_time_and_the_machine():
    line = render.run_header("make bench", datetime(2026, 11, 23, 12, 50, tzinfo=timezone.utc))
    assert line.startswith("`make bench`, started 2026-11-23 12:50 UTC on ") and "cores" in line
    assert line.endswith("(the machine is shared).")


def test_sections_are_replaced_in_place_and_others_kept(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    render.write_sections(path, "## Results\n\nfirst\n\n## Throughput\n\nfast\n")
    render.write_sections(path, "## Head-input ablation\n\ntable\n")
    render.write_sections(path, "## Results\n\nsecond\n\n## Throughput\n\nfaster\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks")
    assert [line for line in text.splitlines() if line.startswith("## ")] == ["## Results", "## Throughput", "## Head-input ablation"]
    assert "second" in text and "faster" in text and "first" not in text and "table" in text


def test_a_run_rewrites_the_introduction_and_drops_what_the_bench_did_not_write(tmp_path, caplog):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\nAn old introduction.\n\n## Results\n\nold\n\n## Tuning throughput\n\nruns\n"
                    "A paragraph added by hand.\n\n## Large competitions\n\nmeasured by hand\n")
    render.write_sections(path, "## Results\n\nnew\n")
    text = path.read_text()
    assert text.startswith(render.INTRO) and "An old introduction" not in text
    assert "## Large competitions" not in text and "## Tuning throughput\n\nruns\n" in text
    assert "dropped ## Large competitions" in caplog.text and render.NOTES in caplog.text


def test_the_checked_in_benchmarks_md_is_all_the_bench_s(tmp_path):
    """Every section is one a run writes, the introduction is the bench's and points at the notes, and the ablation
    sections are exactly what the renderer makes of their own tables: no sentence in them was added or left by hand."""
    from memdev.config import HeadConfig

    text = (REPO / "BENCHMARKS.md").read_text()
    parts = render.sections(text)
    assert text.startswith(render.INTRO) and set(parts) - {""} <= set(render.HEADINGS)
    assert (REPO / render.NOTES).is_file() and f"]({render.NOTES})" in render.INTRO
    if "## Head-input ablation" not in parts:
        return
    ablation = (parts["## Head-input ablation"] + "\n" + parts.get("## Candidate menu ablation", "")).rstrip("\n")
    table, slugs = {}, []
    for line in ablation.splitlines():
        if line.startswith("| row |"):
            slugs = line.split(" | ")[1:-1]
        elif line.startswith("| ") and not line.startswith("|---"):
            name, *cells, _ = [cell.strip() for cell in line.strip("|").split("|")]
            table[name.replace("**", "").removesuffix(" (default)")] = {
                slug: tuple(float(x) for x in cell.split(" ± ")) for slug, cell in zip(slugs, cells) if cell != "n/a"}
    header = ablation.splitlines()[2]
    seeds = [int(seed) for seed in re.search(r"config seeds ([0-9, ]+)\.", ablation).group(1).split(", ")]
    rendered = render.ablation_section(table, header, HeadConfig().inputs, seeds)

    def without_means(text):  # the file's means (and so rows with nearly equal means in either order) come
        # from unrounded values, these from its 4-decimal cells
        return sorted(re.sub(r" \d+\.\d{4} \|$", " |", text, flags=re.M).splitlines())

    assert without_means(rendered) == without_means(ablation)


def test_the_notes_quote_no_figure_the_bench_does_not_write():
    """A development run's cardio blend CV (0.959) once sat in the notes beside the bench's own figure."""
    stale = re.compile(r"0\.959(?!\d)")  # that figure, not 0.9594 measured since
    assert not stale.search((REPO / render.NOTES).read_text()) and not stale.search((REPO / "BENCHMARKS.md").read_text())


def test_ablation_table_is_sorted_by_the_mean_and_marks_the_default():
    table = {"features": {"a": (0.5, 0.1), "b": (0.7, 0.1)}, "features,error": {"a": (0.6, 0.1), "b": (0.8, 0.05)},
             "C B + ensemble (the default)": {"a": (0.9, 0.0)}}
    text = render.ablation_section(table, "header", ["features"], [0, 1, 2])
    assert text.startswith("## Head-input ablation\n\nheader\n") and "config seeds 0, 1, 2" in text
    head, menu = text.split("## Candidate menu ablation")
    rows = [line for line in head.splitlines() if line.startswith("| ") and "| row |" not in line]
    assert rows[0] == "| features,error | 0.6000 ± 0.1000 | 0.8000 ± 0.0500 | 0.7000 |"
    assert rows[1].startswith("| **features** (default) |")
    assert "Best mean: `head.inputs: [features, error]`." in head
    assert "| C B + ensemble (the default) | 0.9000 ± 0.0000 | 0.9000 |" in menu
    assert "The default, `[latent]`, is not the best mean here" in render.ablation_section(table, "h", ["latent"])


def tuning_run(workers: int, seconds: float, numbers: list[int], pruned: int = 0, distinct: int = 8) -> TuningRun:
    return TuningRun(workers, 8, seconds=seconds, load=1.5, numbers=numbers, distinct=distinct, best=0.61,
                     states={"COMPLETE": len(numbers) - pruned, "PRUNED": pruned}, peak_mib=900.0)


def test_tuning_section_quotes_rates_and_speed_ups_against_one_worker_and_checks_the_trials():
    runs = [tuning_run(1, 480.0, list(range(8)), pruned=3), tuning_run(2, 320.0, list(range(8))),
            tuning_run(4, 400.0, [0, 1, 2, 3, 4, 5, 6, 6]), TuningRun(4, 8, error="RuntimeError: make tune failed")]
    text = render.tuning_section(runs, "header", "bank-marketing", {"metric": "f1", "edits": ["folds 5 -> 3"]}, cores=2)
    assert text.startswith("## Tuning throughput\n\nheader") and "| best CV f1 |" in text and "folds 5 -> 3;" in text
    assert "`memdev.bench.pgserver`" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| workers")]
    assert rows[0] == "| 1 | 8 | 480 | 5 / 3 / 0 | 1.00 | 1.00× | 0.6100 | 8 | 1.50 | 900 | ok |"
    assert rows[1].startswith("| 2 | 4 | 320 | 8 / 0 / 0 | 1.50 | 1.50× |") and rows[1].endswith("| ok |")
    assert "numbers [0, 1, 2, 3, 4, 5, 6, 6]" in rows[2]  # a duplicated trial number is flagged
    assert rows[3].startswith("| 4 | 2 | n/a |") and "failed: RuntimeError: make tune failed" in rows[3]
    assert "Measured: 2 workers 1.50×, 4 workers 1.20× one worker's trials per minute; the most with 2 workers." in text
    assert "2 cores" in text
    assert "Fewer distinct parameter sets" not in text
    runs[1] = tuning_run(2, 320.0, list(range(8)), distinct=6)
    text = render.tuning_section(runs, "header", "bank-marketing", {"metric": "f1", "edits": []}, cores=2)
    assert "| 6 | 1.50 |" in text and "Fewer distinct parameter sets than trials" in text and "machine: none;" in text
    # what the code does: one trial 0 per study, enqueued by its creator; samplers seeded per worker
    assert "only the worker that creates the study enqueues" in text and "may each enqueue" not in text


def test_without_a_one_worker_run_no_speed_up_is_claimed():
    runs = [TuningRun(1, 8, error="RuntimeError: no server"), tuning_run(2, 320.0, list(range(8)))]
    text = render.tuning_section(runs, "header", "bank-marketing", {"metric": "f1", "edits": []}, cores=2)
    assert "Measured:" not in text and "| 2 | 4 | 320 | 8 / 0 / 0 | 1.50 | n/a |" in text
