"""BENCHMARKS.md: its sections rendered from what the bench measured, and rewritten in place.

Each run rewrites only its own ``## `` sections (:func:`write_sections`):
``make bench`` the results, targets, how each competition was run and
throughput; ``--ablation`` the head-input ablation; ``--tuning`` the tuning throughput.
"""

from __future__ import annotations

import math
import os
import platform
import re
from datetime import datetime
from pathlib import Path

from memdev import atomic
from memdev.bench import ablation, results, throughput, tuning
from memdev.bench import seeds as bench_seeds
from memdev.bench.results import PRIVATE, PUBLIC, Model, Result
from memdev.bench.throughput import Speed
from memdev.bench.tuning import TuningRun

INTRO = """# Benchmarks

The pipeline beside its anchors on the practice competitions in `../shared/competitions/`,
written by `make bench` (the ablation section by `python -m memdev.bench --ablation`,
tuning throughput by `python -m memdev.bench --tuning`).
"""
ANCHORS = ("IsolationForest", "HistGradientBoosting")


# --------------------------------------------------------------------------- cells


def num(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals and thousands separators; ``n/a`` for None or not finite."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def each(models: list[Model], get, digits: int = 4) -> str:
    """``get`` of the pipeline and every anchor, ``n/a`` for an anchor that was not fitted."""
    cells = [num(get(m), digits) for m in models]
    return " / ".join(cells + ["n/a"] * (1 + len(ANCHORS) - len(cells)))


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


def results_section(done: list[Result], pending: list[str], header: str) -> str:
    """The Results table, on the Public half; a Private column only when a solution had Private rows."""
    private = results.has_half(done, PRIVATE)
    lines = [
        "## Results", "", header, "",
        "Public half of each practice leaderboard, scored by `memdev.submission.leaderboard.score` against",
        "`<slug>.solution.csv` after every submission was written. The solution files hold the Public half only,",
        "as Kaggle's public leaderboard does" + ("; where one also had Private rows, they are in their own column."
                                                 if private else "."),
        "Each cell lists **pipeline / IsolationForest / HistGradientBoosting** (n/a: no labels to fit).",
        "Label competitions are scored on the 0/1 labels as submitted, so their AUC-PR and AUC-ROC are",
        "those of the labels. \"÷ best anchor\" is the pipeline's public metric over the best anchor's,",
        "both measured in this run.",
        "",
        "| competition | metric | public | " + ("private | " if private else "")
        + "÷ best anchor | AUC-PR (public) | AUC-ROC (public) | train s | predict s | peak MiB |",
        "|---|---|---|" + ("---|" if private else "") + "---|---|---|---|---|---|",
    ]
    empty = " |" * (lines[-1].count("|") - 3)  # the cells after the competition and what happened to it
    for r in done:
        lines.append(f"| {r.slug} | failed: {r.error.replace('|', '/')} |" + empty if r.error else result_row(r, private))
    lines += [f"| {slug} | not run |" + empty for slug in pending]
    lines += [
        "",
        "Pipeline: `train s` is the wall time of `make train` (preprocess, one MemAE per fold, DevNet",
        "heads and gradient-boosted candidates per fold), `predict s` of `make submit` (Python and TensorFlow start-up,",
        "loading the fold models, scoring test.csv); peak MiB is the larger resident peak of the two",
        "make process trees. Anchors: fit on all training rows and predict test.csv in this process with one",
        "OpenMP thread; peak MiB is what `tracemalloc` saw allocated (arrays, not the interpreter), so",
        "it is not comparable with the pipeline's resident figure.",
    ]
    return "\n".join(lines)


def result_row(r: Result, private: bool) -> str:
    ratio = results.over_best_anchor(r)
    cells = [r.slug, r.metric, each(r.models, lambda m: m.value())]
    if private:
        cells.append(each(r.models, lambda m: m.value(PRIVATE)))
    cells += [f"{ratio[0]:.3f} ({ratio[1]})" if ratio else "n/a",
              each(r.models, lambda m: m.value(PUBLIC, "auc_pr")), each(r.models, lambda m: m.value(PUBLIC, "auc_roc")),
              each(r.models, lambda m: m.train_seconds, 1), each(r.models, lambda m: m.predict_seconds, 2),
              each(r.models, lambda m: m.peak_mib, 0)]
    return "| " + " | ".join(cells) + " |"


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
        f"| scoring as `make submit` does (MemAE outputs, then the DevNet head), rows/s ({speed.predict_rows:,} rows) | "
        f"{speed.predict:,.0f} | ≥ {throughput.PREDICT_ROWS_PER_SECOND:,} | "
        f"{share_met(speed.predict, throughput.PREDICT_ROWS_PER_SECOND)} |",
        f"| `make train` on bank-marketing, seconds | {num(train, 1)} | < {goal} | {verdict} |",
    ])


def share_met(value: float, goal: float) -> str:
    return "**met**" if value >= goal else f"missed: {value / goal:.0%} of the target"


# --------------------------------------------------------------------------- --ablation


def ablation_section(table: ablation.Table, header: str, default: list[str]) -> str:
    slugs = list(next(iter(table.values())))
    mean = ablation.means(table)
    lines = ["## Head-input ablation", "", header, "",
             "CV (5 folds, out of fold) of the `devnet` candidate alone, on each competition's own metric,",
             "with all four `head.inputs`, each one left out, and each one alone; ± is the standard",
             "deviation over folds. Every row uses the same folds and the same MemAE per fold. The default",
             "is chosen by the mean over the competitions: cross-validation only, test labels are not used.", "",
             "| head.inputs | " + " | ".join(slugs) + " | mean |", "|---|" + "---|" * (len(slugs) + 1)]
    for inputs, value in mean.items():
        name = f"**{inputs}** (default)" if inputs.split(",") == default else inputs
        row = table[inputs]
        lines.append(f"| {name} | " + " | ".join(f"{row[s][0]:.4f} ± {row[s][1]:.3f}" for s in slugs) + f" | {value:.4f} |")
    lines += ["", f"Best mean: `head.inputs: [{', '.join(next(iter(mean)).split(','))}]`."]
    return "\n".join(lines)


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
        lines += ["", "Fewer distinct parameter sets than trials: part of the budget repeated a parameter set.",
                  "`memdev.tuning.tune.run` seeds each worker's TPE sampler with its process id, so their random draws",
                  "differ; workers that join the empty study together may each enqueue the config's own values as trial 0."]
    return lines


# --------------------------------------------------------------------------- the file


def sections(text: str) -> dict[str, str]:
    """Markdown split at its ``## `` headings, keyed by the heading line ("" for what comes first)."""
    parts = re.split(r"(?m)^(?=## )", text)
    return {(part.splitlines()[0] if part.startswith("## ") else ""): part.rstrip() + "\n" for part in parts if part.strip()}


def write_sections(path: Path, text: str) -> None:
    """Replace the sections of ``path`` that ``text`` has, keeping the others and their order."""
    kept = sections(path.read_text(encoding="utf-8")) if path.exists() else {"": INTRO}
    kept.update(sections(text))
    atomic.write_text(path, "\n".join(kept.values()))
