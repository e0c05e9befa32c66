"""Speed against an earlier commit, both measured in the same run (``python -m memdev.bench --speed --baseline REF``).

REF is checked out into a temporary git worktree; its package runs on this
repository's virtual environment (``PYTHONPATH`` points at its ``src/``, so
the two commits must pin the same requirements). Every competition gets a
fresh project root per commit, as a user's, and the two commits run one after
the other, the order flipping from one competition to the next, so neither
always has the quieter minutes of a shared machine:

* ``make train`` on the demo, on every practice competition under
  :data:`SMALL_ROWS` training rows and on bank-marketing;
* the demo's whole job, ``make train tune submit`` (``TRIALS`` trials);
* ``make tune`` on bank-marketing (pruning on, the package's pruner): trials per hour;
* on the demo and bank-marketing, right after the timed ``make train``, its
  stages again under cProfile (:mod:`memdev.bench.profile`): where the time goes.

The CV of every candidate, before and after, is read from each root's
``oof.parquet`` and scored the same way (this commit's metric code), ± the
standard deviation over folds.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from memdev.bench import profile as profiling
from memdev.bench.runs import REPO, make, prepare

SMALL_ROWS = 10_000  # issue 14: `make train` under SMALL_SECONDS below this many training rows
SMALL_SECONDS, BANK_SECONDS = 20, 40  # `make train`: small competitions, bank-marketing
BANK = "bank-marketing"
DEMO_SECONDS, DEMO_RATIO = 120, 8  # the demo's `make train tune submit`: under 2 minutes, >= 8x faster
TUNING_RATIO = 5  # bank-marketing trials per hour, >= 5x before
TRIALS = 6  # `make tune`'s default
PROFILED = ("demo", BANK)
REUSED = "REUSED"  # a trial of `make train`'s own config, which took its CV untrained


@dataclass
class Side:
    """One commit's runs on one competition: wall seconds and the 1-minute load before each, and its CV."""

    seconds: dict[str, float] = field(default_factory=dict)  # "train", "job" (demo), "tune" (bank-marketing)
    load: dict[str, float] = field(default_factory=dict)
    cv: dict[str, tuple[float, float]] = field(default_factory=dict)  # candidate -> (CV, std over folds)
    trials: dict[str, int] = field(default_factory=dict)  # "tune": COMPLETE / PRUNED / FAIL / REUSED -> count
    profile: profiling.Profile | None = None  # `make train`'s stages under cProfile

    def per_hour(self) -> float | None:
        """Finished tuning trials per hour of ``make tune``; not those that took `make train`'s CV untrained."""
        if "tune" not in self.seconds:
            return None
        return sum(n for state, n in self.trials.items() if state != REUSED) / self.seconds["tune"] * 3600


@dataclass
class Comparison:
    """One competition, measured for the baseline and for this commit."""

    slug: str
    rows: int
    metric: str = ""
    base: Side = field(default_factory=Side)
    ours: Side = field(default_factory=Side)
    error: str = ""

    def ratio(self, key: str) -> float | None:
        """How many times faster this commit ran ``key`` than the baseline."""
        if key not in self.base.seconds or key not in self.ours.seconds:
            return None
        return self.base.seconds[key] / self.ours.seconds[key]


def training_rows(slug: str, source: Path) -> int:
    """Rows of the competition's train.csv (the demo: 1,257)."""
    if slug == "demo":
        return 1257
    with zipfile.ZipFile(source / f"{slug}.zip") as archive, archive.open("train.csv") as handle:
        return sum(1 for _ in handle) - 1


def competitions(source: Path) -> list[tuple[str, int]]:
    """(slug, training rows): the demo, every practice competition under SMALL_ROWS rows, and bank-marketing."""
    chosen = [("demo", training_rows("demo", source))]
    for path in sorted(source.glob("*.json")):
        rows = training_rows(path.stem, source)
        if rows < SMALL_ROWS or path.stem == BANK:
            chosen.append((path.stem, rows))
    return chosen


@contextmanager
def checkout(ref: str):
    """``ref`` checked out into a temporary git worktree; yields its path, removes it afterwards."""
    with tempfile.TemporaryDirectory(prefix="memdev-baseline-") as tmp:
        path = Path(tmp) / "checkout"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref], check=True,
                       capture_output=True)
        try:
            yield path
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], capture_output=True)


def measure(ref: str, source: Path, work: Path, trials: int, slugs: list[str],
            on_done: Callable[[list[Comparison]], None] | None = None) -> list[Comparison]:
    """The competitions ``slugs`` (e.g. :func:`competitions`), run by ``ref`` and by this commit in turn.

    ``on_done(done)`` after each competition, so a run cut short keeps what it measured.
    """
    chosen = [(slug, training_rows(slug, source)) for slug in slugs]
    done: list[Comparison] = []
    with checkout(ref) as code:
        # each side imports its own checkout's package, whatever the venv's editable install points at
        sides = {"base": (code, {"PYTHONPATH": str(code / "src")}), "ours": (REPO, {"PYTHONPATH": str(REPO / "src")})}
        for number, (slug, rows) in enumerate(chosen):
            print(f"\nspeed [{number + 1}/{len(chosen)}] {slug}", flush=True)
            comparison = Comparison(slug, rows)
            try:
                for name in ("base", "ours") if number % 2 == 0 else ("ours", "base"):
                    code_path, env = sides[name]
                    run_side(comparison, getattr(comparison, name), source, work / name / slug, code_path, env, trials)
            except Exception as exc:  # one broken competition must not end the run
                comparison.error = f"{type(exc).__name__}: {exc}"
                print(f"  failed: {comparison.error}", flush=True)
            done.append(comparison)
            if on_done:
                on_done(done)
    return done


def run_side(comparison: Comparison, side: Side, source: Path, root: Path, code: Path, env: dict, trials: int) -> None:
    """One commit's runs of ``comparison.slug`` in a fresh ``root``: ``make train`` and its CV, then
    the rest of the demo's job (``make tune submit``) or bank-marketing's ``make tune``."""
    slug = comparison.slug
    prepare(slug, None if slug == "demo" else source, root, code, env)
    timed(side, "train", root, slug, env, "train")
    comparison.metric, side.cv = cv_table(root, slug)
    if slug in PROFILED:
        side.profile = profiling.measure(root, slug, env)
    if slug == "demo":
        timed(side, "tune submit", root, slug, env, "tune", "submit", f"TRIALS={trials}")
        side.seconds["job"], side.load["job"] = side.seconds["train"] + side.seconds["tune submit"], side.load["train"]
    if slug == BANK:
        timed(side, "tune", root, slug, env, "tune", f"TRIALS={trials}")
        side.trials = study_states(root, slug)


def timed(side: Side, key: str, root: Path, slug: str, env: dict, target: str, *extra: str) -> None:
    side.load[key] = os.getloadavg()[0]
    side.seconds[key] = make(root, target, slug, *extra, log=key.replace(" ", "-"), env=env).seconds


def cv_table(root: Path, slug: str) -> tuple[str, dict[str, tuple[float, float]]]:
    """The metric and every candidate's out-of-fold CV ± std over folds, from the root's oof.parquet."""
    from memdev import config as config_io
    from memdev.paths import Paths
    from memdev.training import selection
    from memdev.training.summary import load_oof

    paths = Paths(slug, root)
    config = config_io.load(paths.config)
    if not config.labeled:
        return config.metric, {}
    oof = load_oof(paths)
    y, folds = oof["y"].to_numpy(), oof["fold"].to_numpy()
    table = {}
    for name in oof.columns.drop(["fold", "y"]):
        scores = oof[name].to_numpy()
        per_fold = [selection.value(config, y[folds == k], scores[folds == k]) for k in np.unique(folds)]
        table[name] = (selection.value(config, y, scores), float(np.std(per_fold)))
    return config.metric, table


def study_states(root: Path, slug: str) -> dict[str, int]:
    """COMPLETE / PRUNED / FAIL / REUSED -> how many trials the root's study holds."""
    import optuna

    from memdev.paths import Paths

    url = f"sqlite:///{Paths(slug, root).study_db}"
    (summary,) = optuna.get_all_study_summaries(url)
    states: dict[str, int] = {}
    for trial in optuna.load_study(study_name=summary.study_name, storage=url).trials:
        state = REUSED if trial.user_attrs.get("reused") else trial.state.name
        states[state] = states.get(state, 0) + 1
    return states
