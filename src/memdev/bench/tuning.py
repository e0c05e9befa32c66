"""Tuning throughput: 1, 2 and 4 concurrent ``make tune`` workers sharing one Optuna study.

Every worker count gets its own empty database on one throwaway PostgreSQL
server (:mod:`memdev.bench.pgserver`) and the same total trial budget; the
study is read afterwards to check that it holds exactly that budget.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from memdev.bench.runs import edit_config, make, prepare

COMPETITION = "bank-marketing"
WORKERS = (1, 2, 4)
# The budget and cheaper trials keep the three worker counts to about 25 minutes on
# a shared 2-core machine: there one bank-marketing trial took 3 to 6 minutes on the
# defaults (load 5 to 10), 45 s to 5 minutes with these edits (4 trials: 13 minutes in all).
TRIALS = 8  # total per worker count: 8, 4+4, 2+2+2+2
EDITS = {"folds": 3, "memae.epochs": 15}


@dataclass
class TuningRun:
    """``workers`` concurrent ``make tune`` processes on one fresh study, and what the study holds after."""

    workers: int
    trials: int  # the total budget, split evenly across the workers
    seconds: float = float("nan")  # from the first worker's start to the last one's exit
    load: float = float("nan")  # 1-minute load average just before the workers started
    states: dict[str, int] = field(default_factory=dict)  # COMPLETE / PRUNED / FAIL / ... -> count
    numbers: list[int] = field(default_factory=list)
    distinct: int = 0  # distinct parameter sets among the trials
    best: float | None = None
    peak_mib: float = float("nan")  # the largest worker's resident peak
    error: str = ""

    @property
    def finished(self) -> int:
        return sum(n for state, n in self.states.items() if state in ("COMPLETE", "PRUNED", "FAIL"))

    @property
    def timed(self) -> bool:
        """Whether the workers ran to the end and were timed."""
        return not self.error and self.seconds > 0

    @property
    def per_minute(self) -> float:
        return self.finished / (self.seconds / 60)

    def check(self) -> str:
        """Whether the study holds exactly the budget: one finished trial per number, none lost, none twice."""
        if self.error:
            return f"failed: {self.error.replace('|', '/')}"
        if len(self.numbers) != self.trials or sorted(self.numbers) != list(range(self.trials)):
            return f"**{len(self.numbers)} trials, numbers {sorted(self.numbers)}** (expected {self.trials}, 0..{self.trials - 1})"
        if self.finished != self.trials:
            return f"**{self.trials - self.finished} not finished**"
        return "ok"


def baseline(runs: list[TuningRun]) -> TuningRun | None:
    """The one-worker run the others are compared with, when it ran to the end."""
    return next((r for r in runs if r.workers == 1 and r.timed), None)


def measure(slug: str, source: Path, root: Path, trials: int = TRIALS,
            workers: tuple[int, ...] = WORKERS) -> tuple[list[TuningRun], dict]:
    """Tune ``slug`` with each number of workers on its own database of one throwaway PostgreSQL server.

    The features are made once; every worker count then starts from an empty
    study with the same total budget. Returns the runs and ``{"metric": name, "edits": [...]}``,
    the config edits made for time (:data:`EDITS`).
    """
    from memdev import config as config_io
    from memdev.bench import pgserver
    from memdev.paths import Paths

    prepare(slug, source, root)
    path = Paths(slug, root).config
    edits = edit_config(path, EDITS)
    make(root, "preprocess", slug)
    config = config_io.load(path)
    runs = []
    with pgserver.throwaway_server() as server:
        for count in workers:
            print(f"\ntuning: {count} worker(s), {trials // count} trials each", flush=True)
            runs.append(run_workers(root, slug, server, count, trials))
    return runs, {"metric": config.metric, "edits": edits}


def run_workers(root: Path, slug: str, server: str, count: int, trials: int) -> TuningRun:
    """``count`` concurrent ``make tune`` on a new database of ``server``, ``trials`` in all; then read the study."""
    from memdev.bench import pgserver

    run = TuningRun(count, trials)
    url = ""
    try:
        # a database per worker count, so the studies (named by the config) never mix
        url = pgserver.create_database(server, f"tuning_{count}")
        argv = ("tune", slug, f"TRIALS={trials // count}", f"STORAGE={url}")
        run.load = os.getloadavg()[0]
        started = time.perf_counter()
        with ThreadPoolExecutor(count) as pool:
            stages = list(pool.map(lambda i: make(root, *argv, log=f"tune-{count}-{i}"), range(count)))
        run.seconds = time.perf_counter() - started
        run.peak_mib = max(stage.peak_mib for stage in stages)
    except Exception as exc:  # still read what the study holds
        run.error = f"{type(exc).__name__}: {exc}"
        print(f"  failed: {run.error}", flush=True)
    if url:
        read_study(run, url)
        print(f"  {run.seconds:.0f}s, {run.states}, {run.per_minute:.2f} trials/min, check: {run.check()}", flush=True)
    return run


def read_study(run: TuningRun, url: str) -> None:
    """Fill in ``run``'s trial states, numbers, distinct parameter sets and best value from the one study at ``url``."""
    import optuna

    try:
        (summary,) = optuna.get_all_study_summaries(url)
        study = optuna.load_study(study_name=summary.study_name, storage=url)
    except Exception as exc:
        run.error = run.error or f"{type(exc).__name__}: {exc}"
        return
    for trial in study.trials:
        run.states[trial.state.name] = run.states.get(trial.state.name, 0) + 1
    run.numbers = [trial.number for trial in study.trials]
    run.distinct = len({tuple(sorted(trial.params.items())) for trial in study.trials})
    done = [trial.value for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    run.best = max(done, default=None)
