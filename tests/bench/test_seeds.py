"""memdev.bench.seeds: means over seeds, each candidate, what the MemAE adds, and the issue's done-when."""

from pathlib import Path

from memdev.bench import seeds
from memdev.bench.results import PUBLIC, Model, Result


def model(name: str, public: float | None, cv: float | None = None) -> Model:
    found = Model(name, Path(f"{name}.csv"), 1.0, 1.0, 1.0, cv=cv)
    found.scores = {PUBLIC: {"score": public}} if public is not None else {}
    return found


def run(seed: int, gbm: float, stack: float, pipeline: float) -> Result:
    return Result("cardio", metric="f1", regime="full", chosen="stack", seed=seed, cv=pipeline,
                  models=[model("pipeline", 0.93, pipeline), model("HistGradientBoosting", 0.92 + seed / 100)],
                  candidates=[model("gbm", 0.91, gbm), model("stack", 0.93, stack)])


def test_the_best_anchors_of_anchors_md_are_read_from_its_table(tmp_path):
    page = tmp_path / "ANCHORS.md"
    page.write_text("| competition | metric | IsolationForest | best |\n|---|---|---|---|\n"
                    "| cardio | f1 | 0.5254 | 0.9216 HistGradientBoosting |\n| shuttle | f1 | 0.9 | 0.9995 PyOD AutoEncoder |\n")
    assert seeds.published(page) == {"cardio": (0.9216, "HistGradientBoosting"), "shuttle": (0.9995, "PyOD AutoEncoder")}
    assert seeds.published(tmp_path / "absent.md") == {}


def test_candidates_show_nested_cv_public_and_their_gap_over_seeds():
    text = seeds.candidates_section([run(0, 0.90, 0.95, 0.94), run(1, 0.92, 0.95, 0.94)])
    assert "| cardio | gbm | 0.9100 ± 0.0100 | 0.9100 ± 0.0000 | 0.0000 ± 0.0100 |" in text
    assert "| cardio | pipeline | 0.9400 ± 0.0000 | 0.9300 ± 0.0000 | 0.0100 ± 0.0000 |" in text


def test_what_the_memae_adds_is_said_in_plain_words_and_noise_is_called_noise():
    text = seeds.contributions_section([run(0, 0.90, 0.95, 0.94), run(1, 0.92, 0.95, 0.94)])
    assert "**full**" in text
    assert "stack 0.9500 ± 0.0000 (+0.0400: adds)" in text
    text = seeds.contributions_section([run(0, 0.90, 0.905, 0.9), run(1, 0.92, 0.915, 0.9)])
    assert "stack 0.9100 ± 0.0050 (+0.0000: adds nothing beyond noise)" in text


def test_the_memae_is_judged_against_the_better_of_the_two_boosters():
    runs = [run(0, 0.90, 0.95, 0.94), run(1, 0.92, 0.95, 0.94)]
    for found in runs:
        found.candidates.append(model("catboost", 0.92, 0.97))
    text = seeds.contributions_section(runs)
    assert "gbm 0.9100 ± 0.0100; catboost 0.9700 ± 0.0000;" in text
    assert "stack 0.9500 ± 0.0000 (-0.0200: costs)" in text


def test_done_when_compares_the_mean_public_score_with_both_best_anchors():
    text = seeds.done_when_section([run(0, 0.9, 0.9, 0.9), run(1, 0.9, 0.9, 0.9)], {"cardio": (0.9216, "HGB")})
    assert "| cardio | 0.9300 ± 0.0000 | 0.9250 (HistGradientBoosting) | **met** (+0.0050) | 0.9216 (HGB) | **met** (+0.0084) |" in text
