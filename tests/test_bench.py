"""memdev.bench: the report's pure parts (the runs themselves are `make bench`)."""

from pathlib import Path

from memdev import bench
from memdev.bench import Model, Result


def scored(name: str, private: float, public: float) -> Model:
    model = Model(name, Path(f"{name}.csv"), 10.0, 1.0, 100.0)
    model.scores = {half: {"score": value, "auc_pr": 0.5, "auc_roc": 0.9}
                    for half, value in (("Private", private), ("Public", public))}
    return model


SPEED = {"rows": 100_000, "features": 100, "predict_rows": 1_000_000, "train": 150_000.0, "predict": 250_000.0,
         "config": {"hidden": [64], "latent": 16, "memory_size": 50, "batch_size": 512}}


def test_met_says_by_how_much():
    assert bench.met(0.98, 0.97) == "**met** (+0.0100)"
    assert bench.met(0.60, 0.65) == "missed by 0.0500"
    assert bench.met(None, 0.65) == "not run"


def test_results_quote_every_model_the_ratio_to_the_best_anchor_and_the_targets():
    result = Result("thyroid", metric="average_precision", regime="weak", chosen="devnet", cv=0.9,
                    models=[scored("pipeline", 0.80, 0.82), scored("IsolationForest", 0.40, 0.41),
                            scored("HistGradientBoosting", 0.50, 0.52)])
    text = bench.render_results([result], ["cardio"], SPEED, "## Results\n\nheader")
    row = next(line for line in text.splitlines() if line.startswith("| thyroid | average_precision"))
    assert "0.8000 / 0.4000 / 0.5000" in row and "0.8200 / 0.4100 / 0.5200" in row
    assert "1.600 (HistGradientBoosting)" in row
    assert "| cardio | not run |" in text
    assert "| thyroid | average_precision | 0.977 (HistGradientBoosting) | 0.5000 (HistGradientBoosting) | ≥ 0.97 | 0.8000 | missed by 0.1700 |" in text
    assert "| bank-marketing | f1 | 0.641 (HistGradientBoosting) | n/a | ≥ 0.65 | n/a | not run |" in text
    assert "| 150,000 | ≥ 100,000 | **met** |" in text and "missed: 50% of the target" in text


def test_a_failed_competition_or_a_missing_anchor_still_renders():
    failed = Result("cardio", error="RuntimeError: make train failed")
    novelty = Result("mnist-novelty", metric="f1", models=[scored("pipeline", 0.6, 0.6), scored("IsolationForest", 0.3, 0.3)])
    text = bench.render_results([failed, novelty], [], SPEED, "## Results")
    assert "| cardio | failed: RuntimeError: make train failed |" in text
    assert "0.6000 / 0.3000 / n/a" in text and "2.000 (IsolationForest)" in text


def test_sections_are_replaced_in_place_and_others_kept(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    bench.write_sections(path, "## Results\n\nfirst\n\n## Throughput\n\nfast\n")
    bench.write_sections(path, "## Head-input ablation\n\ntable\n")
    bench.write_sections(path, "## Results\n\nsecond\n\n## Throughput\n\nfaster\n")
    text = path.read_text()
    assert text.startswith("# Benchmarks")
    assert [line for line in text.splitlines() if line.startswith("## ")] == ["## Results", "## Throughput", "## Head-input ablation"]
    assert "second" in text and "faster" in text and "first" not in text and "table" in text


def test_ablation_table_is_sorted_by_the_mean_and_marks_the_default():
    table = {"latent": {"a": (0.5, 0.1), "b": (0.7, 0.1)}, "latent,error": {"a": (0.6, 0.1), "b": (0.8, 0.05)}}
    text = bench.render_ablation(table, "## Head-input ablation", ["latent"])
    rows = [line for line in text.splitlines() if line.startswith("| ") and "head.inputs" not in line]
    assert rows[0] == "| latent,error | 0.6000 ± 0.100 | 0.8000 ± 0.050 | 0.7000 |"
    assert rows[1].startswith("| **latent** (default) |")
    assert "Best mean: `head.inputs: [latent, error]`." in text


def tuning_run(workers: int, seconds: float, numbers: list[int], pruned: int = 0, distinct: int = 8) -> bench.TuningRun:
    return bench.TuningRun(workers, 8, seconds=seconds, load=1.5, numbers=numbers, distinct=distinct, best=0.61,
                           states={"COMPLETE": len(numbers) - pruned, "PRUNED": pruned}, peak_mib=900.0)


def test_tuning_section_quotes_rates_and_speed_ups_against_one_worker_and_checks_the_trials():
    runs = [tuning_run(1, 480.0, list(range(8)), pruned=3), tuning_run(2, 320.0, list(range(8))),
            tuning_run(4, 400.0, [0, 1, 2, 3, 4, 5, 6, 6]), bench.TuningRun(4, 8, error="RuntimeError: make tune failed")]
    text = bench.render_tuning(runs, "## Tuning throughput\n\nheader", "bank-marketing",
                               {"metric": "f1", "edits": ["folds 5 -> 3"]}, cores=2)
    assert text.startswith("## Tuning throughput") and "| best CV f1 |" in text and "folds 5 -> 3;" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| workers")]
    assert rows[0] == "| 1 | 8 | 480 | 5 / 3 / 0 | 1.00 | 1.00× | 0.6100 | 8 | 1.50 | 900 | ok |"
    assert rows[1].startswith("| 2 | 4 | 320 | 8 / 0 / 0 | 1.50 | 1.50× |") and rows[1].endswith("| ok |")
    assert "numbers [0, 1, 2, 3, 4, 5, 6, 6]" in rows[2]  # a duplicated trial number is flagged
    assert rows[3].startswith("| 4 | 2 | n/a |") and "failed: RuntimeError: make tune failed" in rows[3]
    assert "Measured: 2 workers 1.50×, 4 workers 1.20× one worker's trials per minute; the most with 2 workers." in text
    assert "2 cores" in text
    assert "Fewer distinct parameter sets" not in text
    runs[1] = tuning_run(2, 320.0, list(range(8)), distinct=6)
    text = bench.render_tuning(runs, "## Tuning throughput", "bank-marketing", {"metric": "f1", "edits": []}, cores=2)
    assert "| 6 | 1.50 |" in text and "Fewer distinct parameter sets than trials" in text and "machine: none;" in text
