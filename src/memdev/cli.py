"""``python -m memdev <stage>``: every stage the Makefile chains, for people without make."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from .errors import MemdevError

STAGES = {
    "data": "bring a competition into data/<slug>/raw/ (zip, kaggle CLI, or the demo) and detect its config",
    "preprocess": "fit the feature transformer on train.csv; write float32 feature matrices",
    "pretrain": "fit one MemAE per CV fold on the rows not labeled anomalous",
    "finetune": "fit DevNet heads (and the stack) per fold; out-of-fold scores, CV metrics, threshold",
    "train": "preprocess, pretrain and finetune in one go",
    "tune": "Optuna search of memory size, optimizer, learning rates and comparator threshold; writes best_params.yaml",
    "report": "write data/<slug>/reports/: CV table, PR curve, F1 vs threshold, histograms, folds, CV vs LB",
    "submit": "score test.csv, validate and write the submission CSV, add a ledger row",
    "score": "score a submission against a solution file (Public/Private halves), or with --comp every submission in the ledger",
    "lb": "fill public scores into the ledger from `kaggle competitions submissions`, or record one by hand",
    "diff": "how many ids changed label (or the rank correlation of scores) between two submissions",
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="memdev", description=__doc__.split("\n")[0].strip("`"))
    top.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = top.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for stage, text in STAGES.items():
        p = sub.add_parser(stage, help=text, description=text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        if stage == "score":
            p.add_argument("files", type=Path, nargs="+", metavar="[SUBMISSION] SOLUTION")
            p.add_argument("--comp", help="rank every ledger submission of this competition instead")
            p.add_argument("--root", type=Path, default=Path("."), help="project root holding submissions/")
            p.add_argument("--metric", help="the competition's metric (default: f1 for labels, average_precision for scores)")
            continue
        if stage == "diff":
            p.add_argument("a", type=Path)
            p.add_argument("b", type=Path)
            continue
        p.add_argument("--comp", default="demo", help="competition slug: data/<slug>/ (default: demo)")
        p.add_argument("--root", type=Path, default=Path("."), help="project root holding data/ and submissions/")
        if stage == "data":
            p.add_argument("--zip", help="a Kaggle-format zip to unpack instead of downloading")
        if stage == "submit":
            p.add_argument("--message", default="", help="a note for the ledger (default: model, CV, trial, commit)")
            p.add_argument("--kaggle", action="store_true", help="also upload with `kaggle competitions submit`")
        if stage == "lb":
            p.add_argument("--score", help="a public score to record by hand (with --file)")
            p.add_argument("--file", help="the submission CSV the score belongs to")
        if stage == "tune":
            p.add_argument("--trials", type=int, default=6, help="trials to add to the study (default 6)")
            p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
            p.add_argument("--storage", help="an Optuna storage URL (default: sqlite:///data/<slug>/study.db)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # TensorFlow's C++ start-up chatter buries the pipeline's own output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        run(args)
    except MemdevError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"memdev {args.stage}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"memdev {args.stage}: interrupted", file=sys.stderr)
        return 130
    return 0


def run(args: argparse.Namespace) -> None:
    if args.stage == "score":
        from . import leaderboard

        if args.comp and len(args.files) == 1:
            from . import ledger
            from .paths import Paths

            print(ledger.rank(Paths(args.comp, args.root), args.files[0], args.metric))
        elif len(args.files) == 2:
            print(leaderboard.show(leaderboard.score(*args.files, args.metric)))
        else:
            raise MemdevError("give SUBMISSION SOLUTION, or --comp SLUG SOLUTION to rank the ledger")
        return
    if args.stage == "diff":
        from . import ledger

        print(ledger.diff(args.a, args.b))
        return
    from . import config as config_io
    from .paths import Paths

    paths = Paths(args.comp, args.root)
    if args.stage == "data":
        from . import data

        data.fetch(paths, args.zip)
        return
    if args.stage == "lb":
        from . import ledger

        if args.score or args.file:
            if not (args.score and args.file):
                raise MemdevError("record a score by hand with both --score and --file")
            ledger.set_fields(paths.ledger, args.file, public_score=args.score)
            print(f"{paths.ledger}: public score {args.score} recorded for {args.file}")
        else:
            print(f"{paths.ledger}: {ledger.sync(paths)} rows updated from Kaggle")
        return
    # tuning starts from the user's config, not from an earlier winner
    config = config_io.load(paths.config, None if args.stage == "tune" else paths.best_params)
    from . import runtime

    runtime.seed_everything(config.seed)
    from . import finetune, preprocess, pretrain, report, submit, tune

    stages = {
        "preprocess": [preprocess.run],
        "pretrain": [pretrain.run],
        "finetune": [finetune.run],
        "train": [preprocess.run, pretrain.run, finetune.run],
    }
    if args.stage == "submit":
        submit.run(config, paths, args.message, args.kaggle)
        return
    if args.stage == "report":
        print(report.run(config, paths))
        return
    if args.stage == "tune":
        tune.run(config, paths, args.trials, args.timeout, args.storage)
        return
    for stage in stages[args.stage]:
        stage(config, paths)
