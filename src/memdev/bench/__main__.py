"""``make bench``: the pipeline beside its anchors on every practice competition.

For each competition in ``../shared/competitions/`` the pipeline runs as a
user runs it, with make, in a fresh project root outside the repository::

    make data COMP=<slug> ZIP=<slug>.zip
    # set metric (and regime) in data/<slug>/config.yaml from <slug>.json, the evaluation page
    make train COMP=<slug>            # timed: train seconds, peak memory
    make submit COMP=<slug>           # timed: predict seconds; its last line is the CSV

Then, in this process and on the pipeline's own preprocessed matrices and CV
folds, the anchors are fitted on train.csv's rows and predict test.csv's:
scikit-learn's IsolationForest (no labels) and HistGradientBoostingClassifier
(the same 0/1 labels). Only once every submission exists is the solution file
read, by :func:`memdev.submission.leaderboard.score`; the practice solutions hold
the Public half only, so the report compares on that half. The same run
measures MemAE training and DevNet inference throughput on synthetic rows.

``--ablation`` instead measures the DevNet head's inputs (``head.inputs``) by
cross-validation on a few competitions. ``--weak`` runs weak versions of the
fully labeled competitions (and of a synthetic one of local outliers) and
scores every candidate against the labels it hid (:mod:`memdev.bench.weak`).
``--halves`` cuts their train.csv in two and runs the pipeline and the
anchors on it, half B playing the leaderboard (:mod:`memdev.bench.halves`).
``--label-free`` takes every practice competition's training labels away and
checks the pipeline against IsolationForest there (:mod:`memdev.bench.unlabeled`).
``--tuning`` measures tuning throughput: 1, 2 and 4 ``make tune`` workers
sharing one Optuna study on a throwaway PostgreSQL server, the same total
trial budget each time.
``--speed --baseline REF`` times ``make train`` (and the demo's whole job,
bank-marketing's tuning) for the commit REF and for this one, in turn, in
the same run (:mod:`memdev.bench.speed`). Each run rewrites the introduction
and its own sections of ``BENCHMARKS.md`` and keeps nothing else; commentary
by hand goes in ``BENCHMARKS-notes.md``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from memdev import runtime
from memdev.bench import (
    ablation,
    competition,
    halves,
    pgserver,
    render,
    speed,
    throughput,
    tuning,
    unlabeled,
    variants,
    weak,
)
from memdev.bench import seeds as bench_seeds
from memdev.bench.runs import REPO

COMPETITIONS = REPO.parent / "shared" / "competitions"
OUT = REPO / "BENCHMARKS.md"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m memdev.bench", description=__doc__.split("\n")[0].replace("``", ""))
    p.add_argument("--comps", help="comma-separated slugs (default: every competition; with --ablation: "
                                   + ", ".join(ablation.COMPETITIONS) + f"; with --weak and --halves: the fully labeled ones; with --tuning: one slug, default {tuning.COMPETITION})")
    modes = p.add_mutually_exclusive_group()
    modes.add_argument("--ablation", action="store_true", help="measure the DevNet head's inputs by CV instead")
    modes.add_argument("--weak", action="store_true",
                       help="run weak versions of the fully labeled competitions instead (all but "
                            f"{weak.LABELS} anomaly labels of train.csv hidden), and without --comps of the synthetic "
                            f"{weak.LOCAL!r} too, and score every candidate's out-of-fold "
                            "scores against the hidden labels; writes the 'Weak versions' section")
    modes.add_argument("--halves", action="store_true",
                       help="run the fully labeled competitions cut in two instead: train.csv's half A as train.csv, "
                            "half B as test.csv and its labels as the solution; the pipeline, its candidates and the "
                            "anchors scored on half B (train.csv only); writes the 'Halves' section")
    modes.add_argument("--label-free", action="store_true",
                       help="run label-free versions of the practice competitions instead (train.csv's target taken "
                            "away: every row kept, unsupervised; or, where every row is labeled, only the normal ones, "
                            "novelty; a novelty competition as it is), the pipeline against IsolationForest by ROC-AUC "
                            "on the Public half; writes the 'Label-free versions' section")
    modes.add_argument("--tuning", action="store_true",
                       help="measure tuning throughput instead: 1, 2 and 4 concurrent `make tune` workers sharing one "
                            "study on a throwaway PostgreSQL server (needs its binaries), the same --trials in total "
                            "each time; writes the 'Tuning throughput' section")
    modes.add_argument("--speed", action="store_true",
                       help="measure speed against --baseline instead: `make train` on the demo, every practice "
                            f"competition under {speed.SMALL_ROWS:,} rows and {speed.BANK}, the demo's `make train tune "
                            f"submit` and {speed.BANK}'s `make tune`, each for both commits in turn, with `make train` profiled on "
                            f"the demo and {speed.BANK}; writes the 'Speed' section")
    p.add_argument("--baseline", metavar="REF", help="with --speed: the git commit (or branch, tag) to compare with")
    p.add_argument("--trials", type=int,
                   help=f"with --tuning: the total trial budget per worker count, a multiple of 4 (default {tuning.TRIALS}); "
                        f"with --speed: TRIALS of `make tune` (default {speed.TRIALS})")
    p.add_argument("--competitions", type=Path, default=COMPETITIONS, help="folder of <slug>.zip/.json/.solution.csv")
    p.add_argument("--out", type=Path, default=OUT, help="the report (default: BENCHMARKS.md)")
    p.add_argument("--work", type=Path, help="keep the project roots here (default: a temporary folder, deleted); "
                                             "a competition and seed already finished there is read back, not rerun")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated config seeds: every competition runs once per "
                                                    "seed (default 0,1,2); with --ablation and --weak too")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter, as the CLI
    runtime.configure_logging()
    slugs, problem = choose(args)
    if problem:
        print(f"memdev bench: {problem}", file=sys.stderr)
        return 2
    started = datetime.now(timezone.utc)
    header = render.run_header(command(args), started)
    with tempfile.TemporaryDirectory(prefix="memdev-bench-") as tmp:
        work = args.work or Path(tmp)
        print(f"memdev bench: {', '.join(slugs)}; project roots in {work}", flush=True)
        if args.tuning:
            return bench_tuning(slugs[0], args, work, header)
        if args.speed:
            return bench_speed(slugs, args, work, header)
        if args.ablation:
            return bench_ablation(slugs, args, work, header)
        if args.weak:
            return bench_weak(slugs, args, work, header)
        if args.halves:
            return bench_halves(slugs, args, work, header)
        if args.label_free:
            return bench_label_free(slugs, args, work, header)
        return bench_all(slugs, args, work, header)


def choose(args: argparse.Namespace) -> tuple[list[str], str]:
    """The competitions to run, or why none can be."""
    available = sorted(path.stem for path in args.competitions.glob("*.json"))
    if not available:
        return [], f"no practice competitions in {args.competitions}; nothing was run"
    args.trials = args.trials or (speed.TRIALS if args.speed else tuning.TRIALS)
    if args.tuning and (args.trials <= 0 or args.trials % max(tuning.WORKERS) or "," in (args.comps or "")):
        return [], f"--tuning takes one competition and --trials a positive multiple of {max(tuning.WORKERS)}"
    if args.speed != bool(args.baseline) or args.trials <= 0:
        return [], "--speed and --baseline REF go together (and --trials must be positive)"
    if args.speed:
        available.append("demo")
        default = [slug for slug, _ in speed.competitions(args.competitions)]
    else:
        default = (ablation.COMPETITIONS if args.ablation else (tuning.COMPETITION,) if args.tuning
                   else variants.fully_labeled(args.competitions) if args.weak or args.halves else available)
    slugs = args.comps.split(",") if args.comps else list(default)
    if (args.weak or args.halves) and not slugs:
        return [], f"no fully labeled competition in {args.competitions} for --{'weak' if args.weak else 'halves'}"
    unknown = [s for s in slugs if s not in available]
    if unknown:
        return [], f"no competition {unknown[0]!r} in {args.competitions} (found {', '.join(available)})"
    if args.tuning and not pgserver.available():
        return [], f"{pgserver.MISSING}; nothing was run"
    return slugs, ""


def command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run, as the report quotes it."""
    comps = f" --comps {args.comps}" if args.comps else ""
    if args.tuning:
        return "python -m memdev.bench --tuning" + comps + (f" --trials {args.trials}" if args.trials != tuning.TRIALS else "")
    if args.speed:
        trials = f" --trials {args.trials}" if args.trials != speed.TRIALS else ""
        return f"python -m memdev.bench --speed --baseline {args.baseline}" + comps + trials
    seeds = f" --seeds {args.seeds}" if args.seeds != "0,1,2" else ""
    if args.ablation or args.weak or args.halves or args.label_free:
        mode = "ablation" if args.ablation else "weak" if args.weak else "halves" if args.halves else "label-free"
        return f"python -m memdev.bench --{mode}" + comps + seeds
    return "make bench" + (f" BENCH_COMPS={args.comps}" if args.comps else "") + (f" (python -m memdev.bench{seeds})" if seeds else "")


def bench_all(slugs: list[str], args: argparse.Namespace, work: Path, header: str) -> int:
    speed = throughput.measure()
    seeds = [int(s) for s in args.seeds.split(",")]
    quoted = bench_seeds.published(args.competitions / "ANCHORS.md")
    done = []
    for number, slug in enumerate(slugs):
        for seed in seeds:
            print(f"\n[{number + 1}/{len(slugs)}] {slug}, seed {seed}", flush=True)
            done.append(competition.run(slug, args.competitions, work / slug / f"seed{seed}", seed))
            # after every run, so a bench cut short keeps what it measured
            render.write_sections(args.out, render.bench_sections(done, slugs[number + 1:], speed, header, seeds, quoted))
    print(f"\nwrote {args.out}", flush=True)
    return 0


def bench_ablation(slugs: list[str], args: argparse.Namespace, work: Path, header: str) -> int:
    from memdev.config import HeadConfig

    seeds = [int(s) for s in args.seeds.split(",")]
    table: ablation.Table = {}
    for slug in slugs:
        measured: dict[str, list[float]] = {}
        for seed in seeds:
            print(f"\nablation: {slug}, seed {seed}", flush=True)
            for row, value in ablation.measure(slug, args.competitions, work / slug / f"seed{seed}", seed).items():
                measured.setdefault(row, []).append(value)
        ablation.add(table, slug, measured)
        render.write_sections(args.out, render.ablation_section(table, header, HeadConfig().inputs, seeds))
    print(f"\nwrote {args.out}", flush=True)
    return 0


def bench_weak(slugs: list[str], args: argparse.Namespace, work: Path, header: str) -> int:
    seeds = [int(s) for s in args.seeds.split(",")]
    sources = dict.fromkeys(slugs, args.competitions)
    if not args.comps:
        sources[weak.LOCAL] = weak.local_source(work / "weak" / "synthetic")
    done: dict[str, list[dict]] = {}
    for slug, source in sources.items():
        for seed in seeds:
            print(f"\nweak version: {slug}, seed {seed}", flush=True)
            done.setdefault(slug, []).append(weak.measure(slug, source, work / "weak" / slug / f"seed{seed}", seed))
            render.write_sections(args.out, weak.section(done, header))
    print(f"\nwrote {args.out}", flush=True)
    return 0


def bench_halves(slugs: list[str], args: argparse.Namespace, work: Path, header: str) -> int:
    seeds = [int(s) for s in args.seeds.split(",")]
    done = []
    for slug in slugs:
        for seed in seeds:
            print(f"\nhalves: {slug}, seed {seed}", flush=True)
            done.append(halves.measure(slug, args.competitions, work / "halves" / slug / f"seed{seed}", seed))
            render.write_sections(args.out, halves.section(done, header))
    print(f"\nwrote {args.out}", flush=True)
    return 0


def bench_label_free(slugs: list[str], args: argparse.Namespace, work: Path, header: str) -> int:
    seeds = [int(s) for s in args.seeds.split(",")]
    done = []
    for slug, kind in unlabeled.versions(args.competitions, slugs):
        for seed in seeds:
            print(f"\nlabel-free: {unlabeled.name(slug, kind, args.competitions)}, seed {seed}", flush=True)
            root = work / "label-free" / unlabeled.name(slug, kind, args.competitions) / f"seed{seed}"
            done.append(unlabeled.measure(slug, kind, args.competitions, root, seed))
            render.write_sections(args.out, unlabeled.section(done, header))
    print(f"\nwrote {args.out}", flush=True)
    return 0


def bench_tuning(slug: str, args: argparse.Namespace, work: Path, header: str) -> int:
    # a plain SIGTERM would skip the `finally` that stops the PostgreSQL server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs, setup = tuning.measure(slug, args.competitions, work / slug, args.trials)
    render.write_sections(args.out, render.tuning_section(runs, header, slug, setup, len(os.sched_getaffinity(0))))
    print(f"\nwrote {args.out}", flush=True)
    return 0 if all(r.check() == "ok" for r in runs) else 1


def bench_speed(slugs: list[str], args: argparse.Namespace, work: Path, header: str) -> int:
    def write(done):
        render.write_sections(args.out, render.speed_section(done, header, args.baseline, args.trials))

    done = speed.measure(args.baseline, args.competitions, work, args.trials, slugs, write)
    print(f"\nwrote {args.out}", flush=True)
    return 0 if done and not any(c.error for c in done) else 1


if __name__ == "__main__":
    raise SystemExit(main())
