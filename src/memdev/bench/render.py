"""BENCHMARKS.md: rendered from what the bench measured, every line of it.

Each run rewrites the introduction and its own ``## `` sections
(:func:`write_sections`): ``make bench`` the results, targets, how each
competition was run and throughput; ``--ablation`` the head-input ablation;
``--tuning`` the tuning throughput; ``--speed`` the speed against an earlier
commit. Nothing else is kept: commentary written
by hand goes in BENCHMARKS-notes.md, which the bench never touches.
"""

from __future__ import annotations

import logging
import math
import os
import platform
import re
from datetime import datetime
from pathlib import Path

from memdev import atomic
from memdev.bench import ablation, results, speed, throughput, tuning
from memdev.bench import seeds as bench_seeds
from memdev.bench.results import PUBLIC, Result
from memdev.bench.speed import Comparison
from memdev.bench.throughput import Speed
from memdev.bench.tuning import TuningRun

log = logging.getLogger(__name__)

NOTES = "BENCHMARKS-notes.md"
INTRO = f"""# Benchmarks

The pipeline beside its anchors on the practice competitions in `../shared/competitions/`.
Every line of this file is written by the bench: `make bench` (the ablation section by
`python -m memdev.bench --ablation`, the weak versions by `--weak`, the halves by `--halves`, the
label-free versions by `--label-free`, tuning throughput by `--tuning`);
a run rewrites its own sections and drops anything else. What was measured by hand, and
why the defaults are what they are, is in [{NOTES}]({NOTES}).
"""
# every section a run of the bench writes, in the order they appear
HEADINGS = ("## Results", "## Candidates", "## What the MemAE and the DevNet head add", "## Done when (issue 15)",
            "## Targets", "## How each competition was run", "## Throughput", "## Speed",
            "## Head-input ablation", "## Candidate menu ablation", "## Weak versions of the fully labeled competitions",
            "## Halves of the fully labeled competitions", "## Label-free versions of the practice competitions",
            "## Tuning throughput")


# --------------------------------------------------------------------------- cells


def num(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals and thousands separators; ``n/a`` for None or not finite."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def met(value: float | None, goal: float) -> str:
    """Whether ``value`` reaches ``goal``, and by how much."""
    if value is None:
        return "not run"
    return f"**met** (+{value - goal:.4f})" if value >= goal else f"missed by {goal - value:.4f}"


def run_header(command: str, started: datetime) -> str:
    """The line under a section's heading: what was run, when, on what machine."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) / 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"`{command}`, started {started:%Y-%m-%d %H:%M} UTC on {cpu}, {len(os.sched_getaffinity(0))} cores, "
            f"{memory:.1f} GiB memory, Python {platform.python_version()}; load average at the start {load} "
            "(the machine is shared).")


# --------------------------------------------------------------------------- make bench


def bench_sections(done: list[Result], pending: list[str], speed: Speed, header: str, seeds: list[int] = (0,),
                   anchors_md: dict | None = None) -> str:
    """What ``make bench`` writes: results over seeds, candidates, what the MemAE adds, targets, runs, throughput."""
    ok = [r for r in done if not r.error]
    failed = [r for r in done if r.error]
    first = [r for r in ok if r.seed == min(seeds)]  # one run per competition for the single-run tables
    return "\n\n".join([
        bench_seeds.results_section(ok, failed, pending, header, list(seeds), anchors_md or {}),
        bench_seeds.candidates_section(ok), bench_seeds.contributions_section(ok),
        bench_seeds.done_when_section(ok, anchors_md or {}), targets_section(first), runs_section(ok),
        throughput_section(speed, first)])


def targets_section(done: list[Result]) -> str:
    lines = ["## Targets", "",
             "Issue 3's targets, on the competition's own metric, Public half (issue 3 set them on the Private",
             "half, which the practice solution files no longer hold).", "",
             "| competition | metric | best anchor (issue 3) | best anchor (this run) | target | pipeline | result |",
             "|---|---|---|---|---|---|---|"]
    for t in results.targets(done, PUBLIC):
        best = f"{t.best_value:.4f} ({t.best_name})" if t.best_value is not None else "n/a"
        lines.append(f"| {t.slug} | {t.metric} | {t.quoted} | {best} | ≥ {t.goal} | {num(t.value)} | {met(t.value, t.goal)} |")
    return "\n".join(lines)


def runs_section(done: list[Result]) -> str:
    lines = ["## How each competition was run", "",
             "In a fresh project root outside the repository (`Makefile` and `.venv` linked in):",
             "`make data COMP=<slug> ZIP=../shared/competitions/<slug>.zip`, then `metric` and `regime` set in",
             "`data/<slug>/config.yaml` from `<slug>.json` (the evaluation page) as a user would, then",
             "`make train` and `make submit`, once per seed. Package defaults otherwise: no tuning, 5 folds.", "",
             "| competition | seed | regime | config edits | chosen model | its nested CV | anchor notes |",
             "|---|---|---|---|---|---|---|"]
    for r in done:
        notes = "; ".join(f"{m.name} {m.note}" for m in r.anchors if m.note)
        chosen = r.chosen + (f" ({', '.join(f'{n} {w:.1f}' for n, w in r.weights.items())})" if r.weights else "")
        lines.append(f"| {r.slug} | {r.seed} | {r.regime} | {', '.join(r.edits) or 'none'} | {chosen} | {num(r.cv)} | {notes} |")
    return "\n".join(lines)


def throughput_section(speed: Speed, done: list[Result]) -> str:
    bank = next((r for r in done if r.slug == "bank-marketing" and r.pipeline), None)
    train = bank.pipeline.train_seconds if bank else None
    goal = throughput.TRAIN_SECONDS
    verdict = "not run" if train is None else "**met**" if train < goal else f"missed: {train / goal:.1f}× the target"
    model = speed.config
    return "\n".join([
        "## Throughput", "",
        f"Synthetic standard-normal rows, {speed.features} features, the default model size "
        f"(MemAE hidden {model['hidden']}, latent {model['latent']}, memory "
        f"{model['memory_size']}, batch {model['batch_size']}), in this run's process.", "",
        "| measure | value | target | result |", "|---|---|---|---|",
        f"| MemAE training, rows/s per epoch ({speed.rows:,} rows, median epoch after the first) | "
        f"{speed.train:,.0f} | ≥ {throughput.TRAIN_ROWS_PER_SECOND:,} | {share_met(speed.train, throughput.TRAIN_ROWS_PER_SECOND)} |",
        f"| scoring as `make train` scores the test rows (MemAE outputs, then the DevNet head), rows/s ({speed.predict_rows:,} rows) | "
        f"{speed.predict:,.0f} | ≥ {throughput.PREDICT_ROWS_PER_SECOND:,} | "
        f"{share_met(speed.predict, throughput.PREDICT_ROWS_PER_SECOND)} |",
        f"| `make train` on bank-marketing, seconds | {num(train, 1)} | < {goal} | {verdict} |",
    ])


def share_met(value: float, goal: float) -> str:
    return "**met**" if value >= goal else f"missed: {value / goal:.0%} of the target"


# --------------------------------------------------------------------------- --ablation


def ablation_section(table: ablation.Table, header: str, default: list[str], seeds: list[int] = (0,)) -> str:
    heads = {",".join(subset) for subset in ablation.subsets()}
    head = {row: values for row, values in table.items() if row in heads}
    menu = {row: values for row, values in table.items() if row not in heads}
    lines = ["## Head-input ablation", "", header, "",
             "Nested CV (5 folds; the F1 cut chosen without each fold) of the `devnet` candidate alone, on each",
             "competition's own metric, with all four `head.inputs`, the features alone and with each MemAE view,",
             "and the MemAE's three views without the features; mean ±",
             f"std over config seeds {', '.join(map(str, seeds))}. Every row of one seed uses the same folds and the same",
             "MemAE per fold. Cross-validation only: test labels are not used.", ""]
    lines += ablation_table(head, lambda name: f"**{name}** (default)" if name.split(",") == default else name)
    if head:
        best = next(iter(ablation.means(head))).split(",")
        lines += ["", f"Best mean: `head.inputs: [{', '.join(best)}]`."]
        if best != default:
            lines[-1] += (f" The default, `[{', '.join(default)}]`, is not the best mean here; why it is kept is in "
                          f"[{NOTES}]({NOTES}#head-input-ablation).")
    if menu:
        lines += ["", "## Candidate menu ablation", "",
                  "Nested CV of the whole selection (candidate, ensemble weights and cut chosen without each fold)",
                  f"with {len(ablation.MENUS)} menus, and of each candidate alone (`fixed:`), mean ± std over the same",
                  "seeds and folds. In rows A to F the best CV wins; row G keeps the blend unless another candidate",
                  "beats it by more than one standard error fold by fold (in the weak regime, always: its CV cannot",
                  "see the unlabeled anomalies; there a part far behind the others on ROC-AUC leaves the blend, the",
                  "rest an equal `ensemble`). `stack_lf` is the stack with the IsolationForest and LOF scores as",
                  f"two more columns. `blend - x` is the blend without part `x`; `{ablation.BOOSTERS_BLEND}` is the blend of",
                  "the boosters alone, without the MemAE or the DevNet head.", ""]
        lines += ablation_table(menu, str)
        alone, full = menu.get(f"fixed: {ablation.BOOSTERS_BLEND}"), menu.get("fixed: blend")
        if alone and full:
            lines += ["", f"What the MemAE and the DevNet head add to the blend (`fixed: blend` against `fixed: "
                      f"{ablation.BOOSTERS_BLEND}`; a difference within the larger std is noise): "
                      + "; ".join(f"{slug} {bench_seeds.verdict(full[slug], alone[slug])}" for slug in full if slug in alone)
                      + "."]
    return "\n".join(lines)


def ablation_table(table: ablation.Table, label) -> list[str]:
    if not table:
        return []
    slugs = list(dict.fromkeys(slug for row in table.values() for slug in row))
    lines = ["| row | " + " | ".join(slugs) + " | mean |", "|---|" + "---|" * (len(slugs) + 1)]
    for name, value in ablation.means(table).items():
        row = table[name]
        lines.append(f"| {label(name)} | " + " | ".join(f"{row[s][0]:.4f} ± {row[s][1]:.4f}" if s in row else "n/a"
                                                        for s in slugs) + f" | {value:.4f} |")
    return lines


# --------------------------------------------------------------------------- --tuning


def tuning_section(runs: list[TuningRun], header: str, slug: str, setup: dict, cores: int) -> str:
    base = tuning.baseline(runs)
    lines = [
        "## Tuning throughput", "", header, "",
        f"`make tune COMP={slug} TRIALS=n STORAGE=<url>` started by 1, 2 and 4 concurrent workers on this one",
        "machine, every worker count on a fresh database of one throwaway PostgreSQL server (loopback, started",
        "by `memdev.bench.pgserver`), the same total budget split evenly, features made once by `make preprocess`",
        f"beforehand. Config edits, to keep trials short on this shared machine: {', '.join(setup['edits']) or 'none'};",
        "package defaults otherwise (the search space included). Wall seconds run from the first worker's start to",
        "the last one's exit, so they include each worker's Python and TensorFlow start-up and its final",
        "`best_params.yaml` and plots. The check reads the study afterwards: exactly the budget of trials,",
        "numbered 0..n-1, each finished (none lost, none twice).", "",
        "| workers | trials each | wall s | complete / pruned / failed | trials/min | speed-up vs 1 worker "
        f"| best CV {setup['metric']} | distinct parameter sets | load (1 min) at start | peak MiB per worker | check |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        ratio = f"{r.per_minute / base.per_minute:.2f}×" if base and r.timed else "n/a"
        states = " / ".join(str(r.states.get(state, 0)) for state in ("COMPLETE", "PRUNED", "FAIL"))
        lines.append(f"| {r.workers} | {r.trials // r.workers} | {num(r.seconds, 0)} | {states} | "
                     f"{num(r.per_minute if r.seconds > 0 else None, 2)} | {ratio} | {num(r.best)} | {r.distinct} | "
                     f"{num(r.load, 2)} | {num(r.peak_mib, 0)} | {r.check()} |")
    others = [r for r in runs if r.timed and r is not base]
    if base and others:
        top = max([base, *others], key=lambda r: r.per_minute)
        lines += ["", "Measured: " + ", ".join(f"{r.workers} workers {r.per_minute / base.per_minute:.2f}×" for r in others)
                  + " one worker's trials per minute; "
                  + (f"the most with {top.workers} workers." if top is not base else "no worker count beat one worker.")]
    return "\n".join(lines + tuning_limits(runs, cores))


def tuning_limits(runs: list[TuningRun], cores: int) -> list[str]:
    lines = [
        "",
        f"What limits it: this machine has {cores} cores, and one worker's TensorFlow already spreads each trial's",
        "training over all of them, so workers on the same machine take turns on the same cores, each with its",
        f"own start-up, and beyond {cores} workers their threads outnumber the cores. Workers pay off across",
        "machines, each bringing its own cores, with the database the only thing they share. Besides the cores:",
        "the median pruner prunes only once 3 trials have completed, and several workers start their first trials",
        "together, so fewer are pruned; trials differ in cost with their parameters (an optimizer that never",
        "stops early runs every epoch), which a small budget does not average out; and the machine is shared",
        "with other jobs (see the load), so quote the ratios, not the seconds.",
    ]
    if any(r.distinct < len(r.numbers) for r in runs):
        lines += ["", "Fewer distinct parameter sets than trials: part of the budget repeated a parameter set. Not the",
                  "start-up: each worker sharing a study adds its process id to its sampler's seed",
                  "(`memdev.tuning.tune.sampler_seed`), and only the worker that creates the study enqueues the",
                  "config's own values as trial 0 (`memdev.tuning.study.open_study`); TPE proposed a parameter set again."]
    return lines


# --------------------------------------------------------------------------- --speed


def speed_section(done: list[Comparison], header: str, ref: str, trials: int) -> str:
    """Wall times of this commit and of ``ref`` in the same run, their ratios, and the CV before and after."""
    lines = [
        "## Speed", "", header, "",
        f"Before: `{ref}`, checked out into a temporary worktree and run on this repository's virtual environment;",
        "after: this commit. Each competition in a fresh project root per commit, as `make bench` makes them, the two",
        "commits one after the other (the order flips from one competition to the next); the load average (1 min)",
        "before each run is in brackets: the machine is shared, so quote the ratios, not the seconds.", "",
        "| competition | training rows | `make train` before s | after s | × faster | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in done:
        goal = speed.BANK_SECONDS if c.slug == speed.BANK else speed.SMALL_SECONDS
        after = c.ours.seconds.get("train")
        slow = c.slug == speed.BANK and (c.ratio("train") or 0) < 3  # its target is a ratio too
        result = (c.error.replace("|", "/") if c.error else "**met**" if after < goal and not slow
                  else "missed: " + (f"{after / goal:.1f}× the target" if after >= goal else "under the seconds")
                  + (" (< 3× faster)" if slow else ""))
        lines.append(f"| {c.slug} | {c.rows:,} | {timing(c.base, 'train')} | {timing(c.ours, 'train')} | "
                     f"{ratio(c.ratio('train'))} | < {goal} s" + (" and ≥ 3×" if c.slug == speed.BANK else "") + f" | {result} |")
    lines += speed_jobs(done, trials) + ["", *speed_cv(done), *speed_profiles(done)]
    return "\n".join(lines)


def timing(side, key: str) -> str:
    return f"{side.seconds[key]:,.1f} ({side.load[key]:.1f})" if key in side.seconds else "n/a"


def ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}×"


def speed_jobs(done: list[Comparison], trials: int) -> list[str]:
    """The demo's whole job and bank-marketing's tuning, before and after."""
    lines = []
    demo = next((c for c in done if c.slug == "demo" and "job" in c.ours.seconds), None)
    if demo:
        fast = demo.ours.seconds["job"] < speed.DEMO_SECONDS and (demo.ratio("job") or 0) >= speed.DEMO_RATIO
        lines.append(f"| demo: `make train tune submit` (TRIALS={trials}), s (load) | {timing(demo.base, 'job')} | "
                     f"{timing(demo.ours, 'job')} | {ratio(demo.ratio('job'))} | < {speed.DEMO_SECONDS} s and "
                     f"≥ {speed.DEMO_RATIO}× | {'**met**' if fast else 'missed'} |")
    bank = next((c for c in done if c.slug == speed.BANK and "tune" in c.ours.seconds), None)
    if bank and bank.base.per_hour():
        gain = bank.ours.per_hour() / bank.base.per_hour()
        states = [" / ".join(str(s.trials.get(k, 0)) for k in ("COMPLETE", "PRUNED", "FAIL")) for s in (bank.base, bank.ours)]
        lines.append(f"| {speed.BANK}: `make tune TRIALS={trials}`, s (load) | {timing(bank.base, 'tune')} | "
                     f"{timing(bank.ours, 'tune')} | | | |")
        reused = bank.ours.trials.get(speed.REUSED, 0)
        states[1] += f" and {reused} taken from `make train`'s CV untrained, not counted" if reused else ""
        lines.append(f"| {speed.BANK}: trials per hour (complete / pruned / failed: {states[0]} before, {states[1]} after) "
                     f"| {bank.base.per_hour():,.1f} | {bank.ours.per_hour():,.1f} | {gain:.1f}× | ≥ {speed.TUNING_RATIO}× | "
                     f"{'**met**' if gain >= speed.TUNING_RATIO else 'missed'} |")
    return ["", "| measure | before | after | × | target | result |", "|---|---|---|---|---|---|", *lines] if lines else []


def speed_cv(done: list[Comparison]) -> list[str]:
    """Every candidate's CV ± fold std before and after, and the change in units of the before's fold std."""
    lines = ["Every candidate's out-of-fold CV on the competition's metric, ± the standard deviation over folds, from",
             "each root's `oof.parquet` (`make train`, before tuning):", "",
             "| competition | metric | candidate | before | after | Δ / before's fold std |", "|---|---|---|---|---|---|"]
    for c in done:
        for name, (before, spread) in c.base.cv.items():
            if name not in c.ours.cv:
                continue
            after, after_spread = c.ours.cv[name]
            if spread > 0:
                change = (after - before) / spread
                cell = f"{change:+.2f}" + (" **beyond one std**" if abs(change) > 1 else "")
            else:  # every fold scored the same before
                cell = f"n/a ({after - before:+.4f}; the std was 0)"
            lines.append(f"| {c.slug} | {c.metric} | {name} | {before:.4f} ± {spread:.4f} | {after:.4f} ± {after_spread:.4f} | "
                         f"{cell} |")
    return lines


def speed_profiles(done: list[Comparison]) -> list[str]:
    """The top lines of `make train`'s profile, before and after, on each competition profiled."""
    lines = []
    for c in done:
        for name, side in (("before", c.base), ("after", c.ours)):
            if side.profile is None:
                continue
            lines += ["", f"**{c.slug}, {name}**: {side.profile.seconds:.1f} s profiled; memdev's functions by cumulative "
                      f"time, then the {len(side.profile.hot)} functions with the most time of their own", "",
                      "| cumulative s | own s | calls | function |", "|---|---|---|---|"]
            lines += [f"| {line.cumulative:.2f} | {line.own:.2f} | {line.calls:,} | `{line.function}` |"
                      for line in side.profile.own + side.profile.hot]
    if not lines:
        return []
    return ["", "### Profile of `make train`", "",
            "Right after each timed `make train`, its training stages again in the same root, each under cProfile in",
            "its own process (`memdev.bench.profile`: the commands `make -n -B train` lists). Profiling slows",
            "Python more than arithmetic: read the shares, not the seconds.", *lines]


# --------------------------------------------------------------------------- the file


def sections(text: str) -> dict[str, str]:
    """Markdown split at its ``## `` headings, keyed by the heading line ("" for what comes first)."""
    parts = re.split(r"(?m)^(?=## )", text)
    return {(part.splitlines()[0] if part.startswith("## ") else ""): part.rstrip() + "\n" for part in parts if part.strip()}


def write_sections(path: Path, text: str) -> None:
    """Write the introduction and the sections ``text`` has into ``path``, keeping its other bench sections.

    Anything else in ``path`` (a section written by hand) is dropped, with a
    warning: the whole file is the bench's, and commentary goes in :data:`NOTES`.
    """
    old = sections(path.read_text(encoding="utf-8")) if path.exists() else {}
    new = sections(text)
    stray = [heading for heading in old if heading and heading not in HEADINGS]
    if stray:
        log.warning(f"bench: dropped {', '.join(stray)} from {path}: not written by the bench; keep notes in {NOTES}")
    kept = {"": INTRO, **{h: old[h] for h in HEADINGS if h in old}}
    kept.update(new)
    ordered = [""] + [h for h in HEADINGS if h in kept] + [h for h in kept if h and h not in HEADINGS]
    atomic.write_text(path, "\n".join(kept[h] for h in ordered))
