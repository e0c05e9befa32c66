"""SIGKILL at random moments of `make train` and `memdev submit`.

After every kill, each file on disk must be absent, or complete (the old
version or the new one): never a partial file. Then a re-run must finish
cleanly, with every artifact matching the manifest. The competition is spelled
awkwardly on purpose (BOM, CRLF, semicolons, decimal commas, quoted line
breaks, 20-digit ids, reordered test columns), so the final submission also
proves the sample's ids come through as exact text.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import time
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml
from test_end_to_end import make_project

from conftest import FAST, labeled_frames, write_competition
from memdev import atomic
from memdev.paths import Paths

pytestmark = pytest.mark.slow

SLUG = "awkward"
IDS = [str(12345678901234567890 + i) for i in range(20)]


def awkward_competition(paths: Paths) -> None:
    train, test, sample = labeled_frames()
    notes = ["red, bright", "blue\nwith a line break", 'a "quoted" word', "plain"]
    train = train.assign(note=[notes[i % 4] for i in range(len(train))])
    test = test.assign(id=IDS, note=notes[1])[["note", "colour", "x2", "id", "x1"]]
    write_competition(paths, train, test, sample.assign(id=IDS).iloc[::-1],
                      sep=";", decimal=",", encoding="utf-8-sig", lineterminator="\r\n")


def run(project, command: list[str], kill_after: float | None = None) -> subprocess.CompletedProcess | None:
    """Run ``command`` in its own process group; SIGKILL the whole group after ``kill_after`` seconds."""
    # a make that runs this suite (`make test`) must not leak its flags into ours
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEFILES")}
    proc = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=kill_after if kill_after is not None else 600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None
    assert proc.returncode == 0, f"{' '.join(command)}:\n{out[-2000:]}\n{err[-2000:]}"
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def timed(project, command):
    started = time.perf_counter()
    result = run(project, command)
    return result, time.perf_counter() - started


def kill_points(duration: float, count: int, seed: int) -> list[float]:
    """``count`` seeded random moments, one in each equal slice of ``duration``."""
    rng = np.random.default_rng(seed)
    return [duration * (i + rng.random()) / count for i in range(count)]


def load(path):
    """Load ``path`` as the pipeline would; a partial file raises."""
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    if path.suffix == ".yaml":
        return yaml.safe_load(path.read_text())
    if path.suffix == ".csv":
        return pd.read_csv(path, sep=None, engine="python", dtype=str, encoding="utf-8-sig")
    if path.suffix == ".keras":  # a zip: a partial one has no central directory
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None
        return path
    if path.suffix == ".npz":  # a zip of arrays: reading every one checks each member's CRC
        with np.load(path) as stored:
            return {name: stored[name] for name in stored.files}
    if path.suffix == ".pkl":
        return pickle.loads(path.read_bytes())
    if path.suffix == ".lock":  # the ledger's fcntl lock: held, never written
        assert path.stat().st_size == 0
        return path
    raise AssertionError(f"{path}: a file type this test does not know how to check")


def check_disk(paths: Paths) -> list[str]:
    """Every file is complete; submissions are valid and the ledger names only files that exist
    with its hash. Returns the temporaries a killed writer left (hidden, never read)."""
    leftovers = []
    for path in sorted([*paths.comp.rglob("*"), *paths.submissions.parent.rglob("*")]):
        if path.is_file() and path.name.startswith("."):
            leftovers.append(str(path))
        elif path.is_file():
            load(path)
    sample = pd.read_csv(paths.sample_csv, sep=";", dtype=str, encoding="utf-8-sig")
    for path in paths.submissions.glob("*.csv"):
        submission = pd.read_csv(path, dtype=str)
        assert submission["id"].tolist() == sample["id"].tolist() and set(submission["target"]) <= {"0", "1"}
    if paths.ledger.exists():
        for _, row in pd.read_csv(paths.ledger, dtype=str).iterrows():
            assert atomic.sha256(paths.root / row["file"]) == row["sha256"]
    return leftovers


def check_manifest(paths: Paths) -> None:
    for name, digest in json.loads(paths.manifest.read_text()).items():
        assert atomic.sha256(paths.comp / name) == digest, name


@pytest.fixture
def project(tmp_path):
    root = make_project(tmp_path / "project")
    paths = Paths(SLUG, root)
    awkward_competition(paths)
    run(root, [str(root / ".venv" / "bin" / "python"), "-m", "memdev", "data", "--comp", SLUG])
    config = yaml.safe_load(paths.config.read_text())
    config.update(FAST)
    paths.config.write_text(yaml.safe_dump(config))
    return paths


def test_kills_during_make_train_and_submit_leave_only_complete_files(project):
    paths, root = project, project.root
    train = ["make", "train", f"COMP={SLUG}"]
    submit = [str(root / ".venv" / "bin" / "python"), "-m", "memdev", "submit", "--comp", SLUG]
    _, duration = timed(root, train)
    run(root, submit)
    check_disk(paths)

    # a new version of everything: each kill may leave any mix of old and new files
    config = yaml.safe_load(paths.config.read_text())
    paths.config.write_text(yaml.safe_dump({**config, "seed": 1}))
    for moment in kill_points(duration, 3, seed=0):
        run(root, train, kill_after=moment)
        check_disk(paths)
    run(root, train)
    assert check_disk(paths) == []  # the re-run swept the killed writers' temporaries
    check_manifest(paths)

    _, duration = timed(root, submit)
    for moment in kill_points(duration, 2, seed=1):
        run(root, submit, kill_after=moment)
        check_disk(paths)
    last = run(root, submit).stdout.strip().splitlines()[-1]
    assert (root / last).is_file() and last in pd.read_csv(paths.ledger, dtype=str)["file"].tolist()
    assert check_disk(paths) == []
