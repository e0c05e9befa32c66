"""memdev.bench.unlabeled: the practice competitions with their training labels taken away."""

import io
import json
import zipfile
from pathlib import Path

import pandas as pd

from conftest import kaggle_zip_entries, labeled_frames, write_zip
from memdev.bench import render, unlabeled
from memdev.bench.results import PUBLIC, Model, Result


def practice_folder(tmp_path) -> tuple[Path, pd.DataFrame]:
    """'full' (every row labeled), 'few' (weak) and 'images' (novelty: no target) in one folder."""
    train, test, sample = labeled_frames(n_train=400)
    source = tmp_path / "competitions"
    source.mkdir()
    write_zip(source / "full.zip", kaggle_zip_entries(train, test, sample))
    pd.DataFrame({"id": test["id"], "target": 1, "Usage": PUBLIC}).to_csv(source / "full.solution.csv", index=False)
    for slug, regime in (("full", "full"), ("few", "weak-30"), ("images", "novelty")):
        (source / f"{slug}.json").write_text(json.dumps({"regime": regime, "metric": "f1", "submission": "label"}))
    return source, train


def files(zip_path: Path) -> dict[str, pd.DataFrame]:
    with zipfile.ZipFile(zip_path) as archive:
        return {name: pd.read_csv(io.BytesIO(archive.read(name))) for name in archive.namelist()}


def test_every_competition_with_a_target_is_unsupervised_a_fully_labeled_one_novelty_too_and_novelty_itself(tmp_path):
    source, _ = practice_folder(tmp_path)
    assert unlabeled.versions(source, ["few", "full", "images"]) == [
        ("few", "unsupervised"), ("full", "unsupervised"), ("full", "novelty"), ("images", "novelty")]
    assert [unlabeled.name(slug, kind, source) for slug, kind in unlabeled.versions(source, ["full", "images"])] == [
        "full-unsupervised", "full-novelty", "images"]


def test_the_unsupervised_version_keeps_every_training_row_without_its_label(tmp_path):
    source, train = practice_folder(tmp_path)
    into = tmp_path / "free"
    assert unlabeled.strip("full", "unsupervised", source, into) == "full-unsupervised"
    stripped = files(into / "full-unsupervised.zip")
    assert list(stripped["train.csv"]["id"]) == list(train["id"]) and "target" not in stripped["train.csv"].columns
    test_csv = zipfile.ZipFile(into / "full-unsupervised.zip").read("test.csv")
    assert test_csv == zipfile.ZipFile(source / "full.zip").read("test.csv")
    assert stripped["sample_submission.csv"]["target"].eq(0.5).all()  # a score competition's placeholder
    page = json.loads((into / "full-unsupervised.json").read_text())
    assert (page["regime"], page["metric"], page["submission"]) == ("unsupervised", "roc_auc", "score")
    assert (into / "full-unsupervised.solution.csv").read_bytes() == (source / "full.solution.csv").read_bytes()


def test_the_novelty_version_keeps_only_the_rows_labeled_normal(tmp_path):
    source, train = practice_folder(tmp_path)
    unlabeled.strip("full", "novelty", source, tmp_path / "free")
    kept = files(tmp_path / "free" / "full-novelty.zip")["train.csv"]
    assert list(kept["id"]) == list(train.loc[train["target"] == 0, "id"]) and "target" not in kept.columns
    assert json.loads((tmp_path / "free" / "full-novelty.json").read_text())["regime"] == "novelty"


def test_a_novelty_competition_keeps_its_training_rows_and_becomes_a_score_competition(tmp_path):
    source, train = practice_folder(tmp_path)
    _, test, sample = labeled_frames(n_train=400)
    write_zip(source / "images.zip", kaggle_zip_entries(train.drop(columns="target"), test, sample))
    (source / "images.solution.csv").write_bytes((source / "full.solution.csv").read_bytes())
    assert unlabeled.strip("images", "novelty", source, tmp_path / "free") == "images"
    kept = files(tmp_path / "free" / "images.zip")
    assert list(kept["train.csv"]["id"]) == list(train["id"]) and kept["sample_submission.csv"]["target"].eq(0.5).all()
    page = json.loads((tmp_path / "free" / "images.json").read_text())
    assert (page["regime"], page["metric"], page["submission"]) == ("novelty", "roc_auc", "score")


def run(seed: int, pipeline: float, anchor: float, chosen: str = "iforest") -> Result:
    def model(name, score):
        found = Model(name, Path(f"{name}.csv"), 1.0, 1.0, 1.0)
        found.scores = {PUBLIC: {"score": score}}
        return found

    return Result("full-unsupervised", metric="roc_auc", regime="unsupervised", seed=seed, chosen=chosen,
                  models=[model("pipeline", pipeline), model("IsolationForest", anchor)],
                  candidates=[model("iforest", pipeline), model("lof", 0.6), model("memae", 0.4)])


def test_the_section_puts_the_pipeline_beside_isolationforest_seed_by_seed():
    text = unlabeled.section([run(0, 0.80, 0.78), run(1, 0.80, 0.84)], "header line")
    assert text.startswith(unlabeled.HEADING) and unlabeled.HEADING in render.HEADINGS
    row = next(line for line in text.splitlines() if line.startswith("| full-unsupervised |"))
    # pipeline, memae, iforest, lof, the anchor; then what was submitted, and ahead by 0.02, behind by 0.04
    assert row == ("| full-unsupervised | 0.8000 ± 0.0000 | 0.4000 ± 0.0000 | 0.8000 ± 0.0000 | 0.6000 ± 0.0000 | "
                   "0.8100 ± 0.0300 | iforest 2 | -0.0100 ± 0.0300 | 1 of 2 |")
    assert "at or above IsolationForest on 0 of 1 versions (the smallest difference -0.0100)" in text
    assert "The MemAE's error alone is ahead of the pipeline's IsolationForest on 0 of 1;" in text
