"""The user's interface, end to end: the real make targets in an isolated project folder.

Each test copies the Makefile, pyproject.toml and requirements.txt (mtimes
kept, so .venv/.installed stays newer and nothing is reinstalled) and links
src/ and .venv/ from this repository, then runs make as a user would.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, labeled_frames
from memdev import config as config_io
from memdev.config import Config
from memdev.paths import Paths
from memdev.submission import ledger as ledger_csv

pytestmark = pytest.mark.slow

SUBMISSION = r"submissions/{slug}/\d{{8}}T\d{{6}}Z_{metric}-\d\.\d{{4}}\.csv"
# The user's edits that keep these runs to seconds: they prove the chain works,
# not how good the model gets (the demo keeps the gradient-boosted stack).
FAST = {"folds": 3, "memae": {"epochs": 10}, "head": {"epochs": 5, "steps_per_epoch": 10}}
FAST_PRACTICE = {**FAST, "stacking": "off"}


def edit_config(path: Path, changes: dict) -> dict:
    """Apply ``changes`` (one level of nesting) to a config.yaml, as a user would."""
    config = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def make_project(root: Path) -> Path:
    installed = REPO / ".venv" / ".installed"
    inputs = [REPO / "requirements.txt", REPO / "pyproject.toml"]
    if not installed.exists() or any(p.stat().st_mtime > installed.stat().st_mtime for p in inputs):
        pytest.skip("the repository's .venv is not up to date with requirements.txt; run `make venv` first")
    root.mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "requirements.txt"):
        subprocess.run(["cp", "-p", str(REPO / name), str(root / name)], check=True)
    (root / "src").symlink_to(REPO / "src")
    (root / ".venv").symlink_to(REPO / ".venv")
    return root


def make(project: Path, *targets: str, **variables) -> subprocess.CompletedProcess:
    result = make_may_fail(project, *targets, **variables)
    assert result.returncode == 0, f"{' '.join(result.args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def make_may_fail(project: Path, *targets: str, **variables) -> subprocess.CompletedProcess:
    # a make that runs this suite (`make test`) must not leak its flags into ours
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES")}
    command = ["make", *targets, *(f"{k}={v}" for k, v in variables.items())]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, env=env, timeout=900)


def memdev(project: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([str(project / ".venv" / "bin" / "python"), "-m", "memdev", *args], cwd=project,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stdout.strip().splitlines()[-1]


def ledger(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / "submissions" / "ledger.csv", dtype=str, keep_default_na=False)


def check_submission(project: Path, slug: str, line: str, metric: str, submission: str) -> Path:
    """The printed path is a valid submission named after its CV score, with its ledger row."""
    cv = json.loads((project / "data" / slug / "models" / "cv.json").read_text())
    if cv["value"] is None:  # no labels, no CV score to name the file after
        assert re.fullmatch(rf"submissions/{slug}/\d{{8}}T\d{{6}}Z_nocv\.csv", line), line
    else:
        assert re.fullmatch(SUBMISSION.format(slug=slug, metric=metric), line), line
        assert line.endswith(f"_{metric}-{cv['value']:.4f}.csv")
    path = project / line
    assert path.is_file()
    sub = pd.read_csv(path, dtype=str)
    sample = pd.read_csv(project / "data" / slug / "raw" / "sample_submission.csv", dtype=str)
    assert list(sub.columns) == list(sample.columns[:2])
    assert sub.iloc[:, 0].tolist() == sample.iloc[:, 0].tolist()
    values = sub.iloc[:, 1].astype(float)
    if submission == "label":
        assert set(sub.iloc[:, 1]) <= {"0", "1"} and 0 < values.sum() < len(values)
    else:
        assert values.nunique() > len(values) // 2
    rows = ledger(project)
    assert len(rows) == 1
    assert (rows.loc[0, "competition"], rows.loc[0, "file"], rows.loc[0, "cv_metric"]) == (slug, line, metric)
    return path


def check_score(project: Path, submission: Path, solution: Path) -> str:
    """`memdev score` prints a line per half the solution holds (the practice ones: Public only)."""
    out = memdev(project, "score", str(submission), str(solution)).stdout
    assert re.search(r"^Public\s+\S+ = \d\.\d{4}: ", out, re.M), out
    private = "Private" in set(pd.read_csv(solution)["Usage"])
    assert bool(re.search(r"^Private\s+\S+ = \d\.\d{4}: ", out, re.M)) == private, out
    return out


# the first line each stage prints; make itself echoes no command unless VERBOSE=1
STAGE_LINES = re.compile(r"^(wrote |data/\S+/config.yaml: |preprocess: |pretrain: |cross-validation)", re.M)


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory):
    """A fresh project where `make train submit` ran on the demo, with its output.

    Only the demo's config is there beforehand (the detected one, with FAST
    edits): `make train` must fetch the demo's files itself and keep it.
    """
    project = make_project(tmp_path_factory.mktemp("e2e") / "project")
    config = Config(slug="demo", id_column="id", target_column="anomaly", submission="label", regime="full", metric="f1",
                    group_column="digit")
    config_path = project / "data" / "demo" / "config.yaml"
    config_io.save(config, config_path)
    edit_config(config_path, FAST)
    written = config_path.read_text()
    result = make(project, "train", "submit")
    assert config_path.read_text() == written
    return project, result


def test_make_train_submit_on_the_demo_prints_the_submission_path_last(demo_project):
    project, result = demo_project
    for said in ("wrote the demo competition", "preprocess: ", "pretrain: ", "cross-validation"):
        assert said in result.stdout  # the whole chain ran, each stage saying what it did
    path = check_submission(project, "demo", last_line(result), "f1", "label")
    out = check_score(project, path, project / "data" / "demo" / "solution.csv")
    assert "beats the base rate" in out


def test_make_train_again_reruns_nothing_when_nothing_changed(demo_project):
    project, _ = demo_project
    result = make(project, "train")
    assert not STAGE_LINES.search(result.stdout), result.stdout


def test_make_help_is_the_default_and_lists_every_target(demo_project):
    project, _ = demo_project
    text = (project / "Makefile").read_text()
    targets = sorted(set(re.findall(r"^([a-z][a-z-]*):(?!=)", text, re.M)))
    assert {"help", "data", "train", "tune", "submit", "test", "clean"} <= set(targets)
    out = make(project).stdout
    assert out == make(project, "help").stdout
    listed = {line.split()[0] for line in out.splitlines()[1:] if line.startswith("  ")}
    assert listed == set(targets)
    for line in out.splitlines()[1:]:
        assert len(line.split(None, 1)) == 2, f"target without a description: {line!r}"


def test_make_score_without_a_solution_says_in_one_line_to_pass_one(tmp_path):
    result = make_may_fail(make_project(tmp_path / "project"), "score")
    assert result.returncode != 0 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "make score: pass SOLUTION=path" in result.stderr


def test_make_score_and_lb_go_by_the_competitions_metric(tmp_path):
    """satellite's config says roc_auc: make score ranks by it (not average precision, 0.8333 here), and
    make lb takes no score roc_auc cannot give."""
    project = make_project(tmp_path / "project")
    paths = Paths("satellite", project)
    config_io.save(Config(slug="satellite", id_column="id", target_column="anomaly", submission="score",
                          regime="full", metric="roc_auc"), paths.config)
    paths.submissions.mkdir(parents=True)
    pd.DataFrame({"id": range(4), "anomaly": [0.9, 0.1, 0.3, 0.2]}).to_csv(paths.submissions / "a.csv", index=False)
    ledger_csv.append(paths.ledger, {"competition": "satellite", "file": "submissions/satellite/a.csv",
                                     "cv_metric": "roc_auc", "cv_value": "0.9"})
    pd.DataFrame({"id": range(4), "anomaly": [1, 0, 0, 1]}).to_csv(project / "solution.csv", index=False)
    out = make(project, "score", COMP="satellite", SOLUTION="solution.csv").stdout
    assert out.splitlines()[0].startswith("roc_auc on each half") and out.splitlines()[2].split()[1:] == [
        "0.9000", "0.7500"]
    out = make(project, "score", FILE="submissions/satellite/a.csv", SOLUTION="solution.csv").stdout
    assert "Public   roc_auc = 0.7500" in out
    out = make(project, "score", FILE="submissions/satellite/a.csv", SOLUTION="solution.csv",
               METRIC="average_precision").stdout
    assert "Public   average_precision = 0.8333" in out
    refused = make_may_fail(project, "lb", COMP="satellite", SCORE="1.7", FILE="submissions/satellite/a.csv")
    assert refused.returncode != 0 and "memdev lb: error: score 1.7 is out of range for roc_auc" in refused.stderr
    assert ledger(project)["public_score"].tolist() == [""]


def test_make_chains_the_stages_on_parquet_tables_and_reruns_nothing_after(tmp_path):
    project = make_project(tmp_path / "project")
    raw = project / "data" / "pq" / "raw"
    raw.mkdir(parents=True)
    train, test, sample = labeled_frames()
    train.to_parquet(raw / "train.parquet", index=False)
    test.to_parquet(raw / "test.parquet", index=False)
    sample.to_csv(raw / "sample_submission.csv", index=False)  # often still a CSV on Kaggle
    out = make(project, "preprocess", COMP="pq").stdout
    assert "data/pq/config.yaml: id " in out and "preprocess: " in out
    assert sorted(p.name for p in raw.iterdir()) == ["sample_submission.csv", "test.parquet", "train.parquet"]
    assert not STAGE_LINES.search(make(project, "preprocess", COMP="pq").stdout)  # up to date
    (raw / "test.parquet").touch()
    assert "-m memdev preprocess --comp pq" in make(project, "-n", "preprocess", COMP="pq").stdout


@pytest.mark.parametrize("slug, metric, submission", [
    ("thyroid", "average_precision", "score"),  # weak
    ("cardio", "f1", "label"),  # full
    ("mnist-novelty", "f1", "label"),  # novelty
])
def test_make_data_from_a_zip_then_train_submit_and_score_a_practice_competition(tmp_path, shared_competitions, slug,
                                                                                  metric, submission):
    project = make_project(tmp_path / "project")
    make(project, "data", COMP=slug, ZIP=shared_competitions / f"{slug}.zip")
    page = json.loads((shared_competitions / f"{slug}.json").read_text())
    config = edit_config(project / "data" / slug / "config.yaml", FAST_PRACTICE)
    labeled = page["regime"] not in ("novelty", "unsupervised")  # else train.csv has no target column
    assert (config["id_column"], config["target_column"], config["metric"], config["submission"]) == (
        page["id"], page["target"] if labeled else None, page["metric"], page["submission"])
    assert config["regime"] == page["regime"].split("-")[0]  # "weak-30" is detected as weak
    result = make(project, "train", "submit", COMP=slug)
    path = check_submission(project, slug, last_line(result), metric, submission)
    check_score(project, path, shared_competitions / f"{slug}.solution.csv")


def test_make_train_tune_submit_without_labels_in_contaminated_training_rows(tmp_path):
    """The unsupervised regime (no practice competition has it): a synthetic one, its target column removed.
    The whole job runs: `make tune` has no CV to judge a trial by, says so and lets `make submit` go on."""
    project = make_project(tmp_path / "project")
    memdev(project, "synth", "--comp", "unlabeled", "--rows", "2000", "--columns", "8", "--categorical", "2",
           "--rate", "0.05")
    raw = project / "data" / "unlabeled" / "raw"
    train = pd.read_csv(raw / "train.csv")
    target = pd.read_csv(raw / "sample_submission.csv").columns[1]
    assert train[target].mean() > 0  # anomalies hide among the training rows
    train.drop(columns=target).to_csv(raw / "train.csv", index=False)
    config = edit_config(project / "data" / "unlabeled" / "config.yaml",
                         {**FAST_PRACTICE, "regime": "unsupervised", "target_column": None,
                          "threshold": {"strategy": "contamination", "contamination": 0.05}})
    result = make(project, "train", "tune", "submit", COMP="unlabeled")
    assert "no labels: no CV metric" in result.stdout
    assert "tune: no trial run: a trial's CV needs at least 2 labeled anomalies, and regime unsupervised has none" \
        in result.stdout
    path = check_submission(project, "unlabeled", last_line(result), config["metric"], config["submission"])
    assert 0.02 < pd.read_csv(path)[target].mean() < 0.1  # the contamination threshold calls about 5% anomalous
    out = check_score(project, path, project / "data" / "unlabeled" / "unlabeled.solution.csv")
    assert "f1" in out


def test_make_data_train_submit_on_a_competition_whose_target_and_sample_are_words(tmp_path):
    """fraud/legit instead of 1/0: `make data` maps the rarer word to the anomaly and says so, and the
    submission is written in the sample's words, which `memdev score` reads against a solution in words."""
    project = make_project(tmp_path / "project")
    memdev(project, "synth", "--comp", "words", "--rows", "1500", "--columns", "6", "--categorical", "1", "--rate", "0.08")
    raw, word = project / "data" / "words" / "raw", {0: "legit", 1: "fraud"}
    target = pd.read_csv(raw / "sample_submission.csv").columns[1]
    for name in ("train.csv", "sample_submission.csv", "../words.solution.csv"):
        table = pd.read_csv(raw / name)
        table[target] = table[target].map(word)
        table.to_csv(raw / name, index=False)
    (project / "data" / "words" / "config.yaml").unlink()  # detected again, from the words
    result = make(project, "data", COMP="words")
    assert "label_map {'fraud': 1, 'legit': 0} (the rarer level is the anomaly), submission label" in result.stdout
    edit_config(project / "data" / "words" / "config.yaml", FAST_PRACTICE)
    path = project / last_line(make(project, "train", "submit", COMP="words"))
    called = pd.read_csv(path)[target]
    assert set(called) == {"fraud", "legit"} and (called == "fraud").mean() < 0.5
    assert re.search(r"^Public\s+f1 = 0\.[1-9]\d{3}: ", check_score(project, path, raw.parent / "words.solution.csv"), re.M)


def test_tuned_parameters_flow_into_make_train_and_the_ledger(demo_project):
    """best_params.yaml, as `make tune` writes it, changes what `make train` trains: pretrain and finetune run
    again, and their stamps, the ledger's config hash and its trial name the tuned config."""
    project, _ = demo_project
    paths = Paths("demo", project)
    untuned = json.loads(paths.cv.read_text())["stamp"]["config"]
    config_io.save_tuned(paths.best_params, {"study": "demo-0123abcd", "trial": 3, "value": 0.9, "metric": "f1",
                                             "params": {"memae.memory_size": 20, "head.margin": 3.0}})
    try:
        result = make(project, "train", "submit")
        assert "pretrain: " in result.stdout and "cross-validation" in result.stdout  # trained again
        tuned = config_io.load(paths.config, paths.best_params)
        assert (tuned.memae.memory_size, tuned.head.margin) == (20, 3.0)
        assert json.loads(paths.cv.read_text())["stamp"]["config"] == tuned.digest() != untuned
        assert json.loads(paths.pretrained.read_text())["config"] == tuned.digest()
        row = ledger(project).iloc[-1]
        assert (row["config_hash"], row["trial"]) == (tuned.digest(), "demo-0123abcd#3")
    finally:
        paths.best_params.unlink()
