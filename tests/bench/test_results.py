"""memdev.bench.results: comparisons on the Public half, and a missing half is None, not an error."""

from pathlib import Path

from memdev.bench import results
from memdev.bench.results import PRIVATE, PUBLIC, Model, Result


def scored(name: str, public: float | None, private: float | None = None) -> Model:
    model = Model(name, Path(f"{name}.csv"), 10.0, 1.0, 100.0)
    halves = {PUBLIC: public, PRIVATE: private}
    model.scores = {half: {"score": v, "auc_pr": 0.5, "auc_roc": 0.9} for half, v in halves.items() if v is not None}
    model.scores["metric"] = "average_precision"  # as memdev.submission.leaderboard.score returns them
    return model


def test_a_half_the_solution_does_not_hold_is_none():
    model = scored("pipeline", 0.8)
    assert model.value() == 0.8 and model.value(PUBLIC, "auc_roc") == 0.9
    assert model.value(PRIVATE) is None and model.value(PRIVATE, "auc_pr") is None
    model.scores[PUBLIC]["score"] = float("nan")  # e.g. AUC-ROC of a half with one class
    assert model.value() is None


def test_the_best_anchor_and_the_ratio_are_on_the_public_half():
    result = Result("thyroid", models=[scored("pipeline", 0.8, 0.1), scored("IsolationForest", 0.4, 0.9),
                                       scored("HistGradientBoosting", 0.5, 0.2)])
    assert result.pipeline.name == "pipeline" and [m.name for m in result.anchors] == ["IsolationForest", "HistGradientBoosting"]
    assert results.best_anchor(result).name == "HistGradientBoosting"
    assert results.best_anchor(result, PRIVATE).name == "IsolationForest"
    assert results.over_best_anchor(result) == (1.6, "HistGradientBoosting")


def test_no_anchor_scored_means_no_ratio():
    assert results.over_best_anchor(Result("x", models=[scored("pipeline", 0.8)])) is None
    assert results.over_best_anchor(Result("x", models=[scored("pipeline", 0.8), scored("IsolationForest", 0.0)])) is None
    assert results.best_anchor(None) is None


def test_has_half_looks_at_every_model():
    public_only = [Result("a", models=[scored("pipeline", 0.8)])]
    assert results.has_half(public_only, PUBLIC) and not results.has_half(public_only, PRIVATE)
    assert results.has_half(public_only + [Result("b", models=[scored("pipeline", 0.8, 0.7)])], PRIVATE)
    assert not results.has_half([Result("c", error="RuntimeError: boom")], PUBLIC)


def test_targets_list_every_competition_and_what_this_run_measured():
    done = [Result("thyroid", models=[scored("pipeline", 0.98), scored("IsolationForest", 0.4)])]
    by_slug = {t.slug: t for t in results.targets(done)}
    assert set(by_slug) == set(results.TARGETS)
    thyroid = by_slug["thyroid"]
    assert (thyroid.metric, thyroid.goal, thyroid.value, thyroid.best_value, thyroid.best_name) == (
        "average_precision", 0.97, 0.98, 0.4, "IsolationForest")
    assert by_slug["cardio"].value is None and by_slug["cardio"].best_value is None
