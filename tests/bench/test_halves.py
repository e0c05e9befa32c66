"""memdev.bench.halves: train.csv cut in two, half B playing the leaderboard."""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from conftest import kaggle_zip_entries, labeled_frames, write_zip
from memdev.bench import halves, render
from memdev.bench.results import PUBLIC, Model, Result
from memdev.submission import leaderboard


def practice_folder(tmp_path) -> tuple[Path, pd.DataFrame]:
    train, test, sample = labeled_frames(n_train=400)
    source = tmp_path / "competitions"
    source.mkdir()
    write_zip(source / "full.zip", kaggle_zip_entries(train, test, sample))
    (source / "full.json").write_text(json.dumps({"regime": "full", "metric": "f1", "submission": "label"}))
    return source, train


def files(folder: Path) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(folder / "full.zip") as archive:
        return {name: pd.read_csv(io.BytesIO(archive.read(name))) for name in archive.namelist()}


def test_half_a_is_the_training_set_and_half_b_the_test_set_whose_labels_are_the_solution(tmp_path):
    source, train = practice_folder(tmp_path)
    halves.halve("full", source, tmp_path / "cut", seed=0)
    cut = files(tmp_path / "cut")
    a, b, sample = cut["train.csv"], cut["test.csv"], cut["sample_submission.csv"]
    assert sorted([*a["id"], *b["id"]]) == sorted(train["id"]) and not set(a["id"]) & set(b["id"])
    assert "target" not in b.columns and list(sample["id"]) == list(b["id"])
    assert a["target"].sum() == train["target"].sum() // 2  # stratified: 40 anomalies, 20 on each side
    solution = pd.read_csv(tmp_path / "cut" / "full.solution.csv")
    assert list(solution.columns) == ["id", "target", "Usage"] and set(solution["Usage"]) == {PUBLIC}
    truth = train.set_index("id").loc[solution["id"], "target"].to_numpy()
    np.testing.assert_array_equal(solution["target"], truth)
    assert json.loads((tmp_path / "cut" / "full.json").read_text())["regime"] == "full"
    # the leaderboard scores a submission of half B against it: the truth itself scores 1
    submission = tmp_path / "truth.csv"
    solution[["id", "target"]].to_csv(submission, index=False)
    assert leaderboard.score(submission, tmp_path / "cut" / "full.solution.csv", "f1")[PUBLIC]["score"] == 1.0


def test_each_seed_cuts_its_own_halves_and_the_same_seed_the_same(tmp_path):
    source, _ = practice_folder(tmp_path)
    cuts = []
    for number, seed in enumerate((0, 0, 1)):
        halves.halve("full", source, tmp_path / f"cut{number}", seed)
        cuts.append(tuple(files(tmp_path / f"cut{number}")["train.csv"]["id"]))
    assert cuts[0] == cuts[1] != cuts[2]


def run(seed: int, pipeline: float, anchor: float) -> Result:
    def model(name, score, cv=None):
        found = Model(name, Path(f"{name}.csv"), 1.0, 1.0, 1.0, cv=cv)
        found.scores = {PUBLIC: {"score": score}}
        return found

    return Result("full", metric="f1", regime="full", seed=seed,
                  models=[model("pipeline", pipeline, 0.9), model("HistGradientBoosting", anchor), model("IsolationForest", 0.3)],
                  candidates=[model("gbm", 0.8, 0.85)])


def test_the_section_shows_every_model_on_half_b_and_the_pipeline_against_the_best_anchor_seed_by_seed():
    text = halves.section([run(0, 0.90, 0.86), run(1, 0.90, 0.92)], "header line")
    assert text.startswith(halves.HEADING) and halves.HEADING in render.HEADINGS
    lines = text.splitlines()
    assert "| full | pipeline | 0.9000 ± 0.0000 | 0.9000 ± 0.0000 |" in lines
    assert "| full | HistGradientBoosting | n/a | 0.8900 ± 0.0300 |" in lines  # an anchor has no nested CV
    assert "| full | gbm | 0.8500 ± 0.0000 | 0.8000 ± 0.0000 |" in lines
    # ahead by 0.04 on seed 0, behind by 0.02 on seed 1
    assert "| full | 0.9000 ± 0.0000 | 0.8900 (HistGradientBoosting) | 0.0100 ± 0.0300 | 1 of 2 |" in lines
