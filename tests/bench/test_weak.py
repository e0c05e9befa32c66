"""memdev.bench.weak: weak versions of the fully labeled competitions, scored against the labels they hide."""

import io
import json
import zipfile

import numpy as np
import pandas as pd

from conftest import kaggle_zip_entries, labeled_frames, write_zip
from memdev.bench import render, variants, weak


def practice_folder(tmp_path, anomalies: int = 40):
    """A full competition 'full' of 400 training rows with ``anomalies`` labeled anomalies, and a novelty one."""
    train, test, sample = labeled_frames(n_train=400)
    train["target"] = (np.arange(400) < anomalies).astype(int)
    source = tmp_path / "competitions"
    source.mkdir()
    write_zip(source / "full.zip", kaggle_zip_entries(train, test, sample))
    (source / "full.json").write_text(json.dumps({"regime": "full", "metric": "f1", "submission": "label"}))
    (source / "images.json").write_text(json.dumps({"regime": "novelty", "metric": "f1", "submission": "label"}))
    return source, train


def test_only_fully_labeled_competitions_have_weak_versions(tmp_path):
    source, _ = practice_folder(tmp_path)
    assert variants.fully_labeled(source) == ["full"]


def test_a_weak_version_keeps_thirty_anomaly_labels_of_the_seeds_draw_and_hides_the_rest(tmp_path):
    source, train = practice_folder(tmp_path)
    drawn = []
    for seed in (0, 0, 1):
        into = tmp_path / f"weak{len(drawn)}"
        truth = weak.weaken("full", source, into, seed)
        np.testing.assert_array_equal(truth, train["target"])
        with zipfile.ZipFile(into / "full.zip") as archive:
            kept = pd.read_csv(io.BytesIO(archive.read("train.csv")))
            assert archive.read("test.csv") == zipfile.ZipFile(source / "full.zip").read("test.csv")
        assert kept.drop(columns="target").equals(train.drop(columns="target"))
        labeled = np.flatnonzero(kept["target"])
        assert len(labeled) == weak.LABELS and truth[labeled].all()  # a subset of the true anomalies
        drawn.append(tuple(labeled))
        page = json.loads((into / "full.json").read_text())
        assert (page["regime"], page["metric"]) == ("weak-30", "average_precision")
    assert drawn[0] == drawn[1] != drawn[2]


def test_the_synthetic_local_outliers_are_a_fully_labeled_competition_written_once(tmp_path):
    source = weak.local_source(tmp_path / "synthetic")
    assert variants.fully_labeled(source) == [weak.LOCAL]
    written = (source / f"{weak.LOCAL}.zip").stat().st_mtime_ns
    assert weak.local_source(tmp_path / "synthetic") == source
    assert (source / f"{weak.LOCAL}.zip").stat().st_mtime_ns == written
    truth = weak.weaken(weak.LOCAL, source, tmp_path / "weak", 0)
    assert len(truth) == 12_000 and 0.02 < truth.mean() < 0.04


def test_the_section_shows_each_candidates_hidden_label_score_over_seeds_and_what_was_chosen():
    runs = [{"chosen": "blend", "scores": {"pipeline": [0.5, 0.9], "blend": [0.5, 0.9], "gbm": [0.3, 0.8]},
             "share": 0.1, "cuts": {"pu": [0.09, 0.8], "f1": [0.01, 0.2]}},
            {"chosen": "gbm", "scores": {"pipeline": [0.4, 0.7], "blend": [0.6, 0.8], "gbm": [0.4, 0.7]},
             "share": 0.1, "cuts": {"pu": [0.11, 0.6], "f1": [0.03, 0.4]}}]
    text = weak.section({"full": runs}, "header line")
    assert text.startswith(weak.HEADING) and weak.HEADING in render.HEADINGS
    scores, cuts = (line for line in text.splitlines() if line.startswith("| full |"))
    assert "| 0.4500 ± 0.0500 | 0.5500 ± 0.0500 |" in scores  # pipeline, blend: mean ± std of average precision
    assert "| 0.8000 ± 0.1000 | blend 1, gbm 1 |" in scores  # the pipeline's ROC-AUC, and the choices
    assert "| n/a |" in scores  # a candidate no run had
    # the share of anomalies; each cut's share called and hidden-label F1
    assert cuts == ("| full | 0.1000 ± 0.0000 | 0.1000 ± 0.0100 | 0.7000 ± 0.1000 | 0.0200 ± 0.0100 | "
                    "0.3000 ± 0.1000 |")
