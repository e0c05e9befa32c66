"""``python -m memdev <stage>``: every stage the Makefile chains, for people without make."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from memdev import config as config_io
from memdev import progress, runtime
from memdev.errors import MemdevError
from memdev.paths import Paths, submission_slug

STAGES = {
    "data": "bring a competition into data/<slug>/raw/ (zip, kaggle CLI, or the demo) and detect its config",
    "preprocess": "fit the feature transformer on train.csv; write float32 feature matrices",
    "pretrain": "fit one MemAE per CV fold on the rows not labeled anomalous",
    "finetune": "fit DevNet heads and the other candidates per fold; out-of-fold and test scores, CV, threshold",
    "fit": "pretrain, then finetune, in one process (one TensorFlow start-up): what `make train` runs on new features",
    "train": "preprocess, pretrain and finetune in one go",
    "tune": "Optuna search of memory size, optimizer, learning rates and comparator threshold; writes best_params.yaml",
    "report": "write data/<slug>/reports/ (index.md): CV table, PR curve, F1 vs threshold, histograms, folds, CV vs LB",
    "compare": "after `make train`: plain, deep and convolutional AEs and the MemAE on the same folds, AUC-ROC/AUC-PR "
               "by epoch budget (needs labels); writes reports/compare.md",
    "outliers": "after `make train`: training rows ranked by out-of-fold MemAE error, with the features behind each "
                "row's error; writes reports/outliers.md",
    "scorers": "after `make train`: reconstruction error, latent nearest-centroid distance, addressing entropy and "
               "DevNet deviation (the config's scorers) compared; writes reports/scorers.md",
    "groups": "after `make train`: precision and recall per group of train.csv at the max-normal + margin threshold; "
              "writes reports/groups.md",
    "synth": "write a synthetic competition of any size into data/<slug>/raw/ (test.csv gets a quarter as many "
             "rows; hidden labels in data/<slug>/<slug>.solution.csv) and detect its config",
    "submit": "the chosen model's stored test scores, validated, written as the submission CSV, with a ledger row",
    "score": "score a submission against a solution file (Public/Private halves), or with --comp every submission in the "
             "ledger; by the competition's metric where it is known (--comp, or the submission's submissions/<slug>/)",
    "lb": "fill public scores into the ledger from `kaggle competitions submissions`, or record one by hand",
    "diff": "how many ids changed label (or the rank correlation of scores) between two submissions",
    "status": "one screen: the data, whether each stage is up to date (and why not), the chosen model and its CV, "
              "the study, the last submissions",
    "dashboard": "optuna-dashboard on the competition's study at 127.0.0.1 and a free port; Ctrl-C stops it",
}


VERBOSE = "a line per training epoch, and a line per fold instead of progress bars"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="memdev", description=__doc__.split("\n")[0].replace("``", ""))
    top.add_argument("--debug", action="store_true", help="show tracebacks")
    top.add_argument("--verbose", action="store_true", help=VERBOSE)
    sub = top.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for stage, text in STAGES.items():
        p = sub.add_parser(stage, help=text, description=text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
        p.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE)
        if stage == "score":
            # "*", not "+": a missing solution gets memdev's one-line error, not argparse's usage
            p.add_argument("files", type=Path, nargs="*", metavar="[SUBMISSION] SOLUTION")
            p.add_argument("--comp", help="the competition: its config's metric; alone with SOLUTION, rank every "
                                          "ledger submission of it")
            p.add_argument("--root", type=Path, default=Path("."), help="project root holding data/ and submissions/")
            p.add_argument("--metric", choices=config_io.METRICS,
                           help="score by this metric (default: the competition's config's where the competition is "
                                "known, else f1 for labels and average_precision for scores)")
            continue
        if stage == "diff":
            p.add_argument("a", type=Path)
            p.add_argument("b", type=Path)
            continue
        p.add_argument("--comp", default="demo", help="competition slug: data/<slug>/ (default: demo)")
        p.add_argument("--root", type=Path, default=Path("."), help="project root holding data/ and submissions/")
        if stage == "data":
            p.add_argument("--zip", help="a Kaggle-format zip to unpack instead of downloading")
        if stage == "synth":
            p.add_argument("--rows", type=int, required=True, help="rows of train.csv (--comp is required too)")
            p.add_argument("--columns", type=int, default=50, help="feature columns besides id and target (default 50)")
            p.add_argument("--categorical", type=int, default=5, help="how many of them are categorical (default 5)")
            p.add_argument("--rate", type=float, default=0.02, help="share of anomalous rows (default 0.02)")
            p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
            p.add_argument("--anomalies", choices=("broken", "local"), default="broken",
                           help="broken: normal rows whose joint structure breaks in a few columns (default); "
                                "local: rows a little too far out of their own cluster, which LOF sees and a few "
                                "labels cannot teach")
        if stage == "submit":
            p.add_argument("--message", default="", help="a note for the ledger (default: model, CV, trial, commit)")
            p.add_argument("--kaggle", action="store_true", help="also upload with `kaggle competitions submit`")
        if stage == "lb":
            p.add_argument("--score", help="a public score to record by hand (with --file)")
            p.add_argument("--file", help="the submission CSV the score belongs to")
        if stage == "report":
            p.add_argument("--studies", action="store_true",
                           help="first run compare, outliers, scorers and (with a group_column) groups, as `make report` does")
        if stage == "compare":
            p.add_argument("--epochs", default="1,5,10", help="comma-separated epoch budgets (default 1,5,10)")
            p.add_argument("--folds", type=int, default=2, help="how many of the CV folds to evaluate (default 2)")
        if stage == "outliers":
            p.add_argument("--top", type=int, default=20, help="how many of the highest-scoring rows to list (default 20)")
        if stage == "groups":
            p.add_argument("--column", help="the column of train.csv to group by (default: the config's group_column)")
        if stage == "tune":
            p.add_argument("--trials", type=int, default=6, help="trials to add to the study (default 6)")
            p.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
        if stage in ("tune", "status", "dashboard"):
            p.add_argument("--storage", help="an Optuna storage URL (default: sqlite:///data/<slug>/study.db)")
        if stage == "dashboard":
            p.add_argument("--port", type=int, default=0, help="the port to serve on (default: a free one)")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # TensorFlow's C++ start-up chatter buries the pipeline's own output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    runtime.configure_logging()
    progress.configure(sys.stderr, verbose=args.verbose)
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
    """Run the one stage ``args`` names."""
    if args.stage in ("score", "diff"):
        _compare_submissions(args)
        return
    paths = Paths(args.comp, args.root)
    if args.stage in ("data", "synth", "lb"):
        _bring_in(args, paths)
        return
    if args.stage == "status":  # also before `make data`: no config needed
        from memdev.reporting import status

        print(status.run(paths, args.storage))
        return
    if args.stage == "dashboard":
        from memdev.tuning import dashboard

        dashboard.run(paths, args.storage, args.port)
        return
    # tuning starts from the user's config, not from an earlier winner
    config = config_io.load(paths.config, None if args.stage == "tune" else paths.best_params)
    if args.stage == "preprocess":  # fits no model: spare it TensorFlow's seconds-long import
        from memdev.features import preprocess

        preprocess.run(config, paths)
        return
    if args.stage == "submit":  # mixes the scores finetune stored: no model, no TensorFlow
        from memdev.submission import submit

        path, message = submit.run(config, paths, args.message)
        try:
            if args.kaggle:
                submit.upload(paths, path, message)
        finally:
            print(path)  # the last line, uploaded or not: scripts take the CSV from here
        return
    runtime.seed_everything(config.seed, config.threads.tuning if args.stage == "tune" else config.threads.tensorflow)
    if args.stage in ("pretrain", "finetune", "fit", "train"):
        from memdev.features import preprocess
        from memdev.training import finetune, fit, pretrain

        stages = {"pretrain": [pretrain.run], "finetune": [finetune.run], "fit": [fit.run],
                  "train": [preprocess.run, fit.run]}
        for stage in stages[args.stage]:
            stage(config, paths)
    elif args.stage == "tune":
        from memdev.tuning import tune

        tune.run(config, paths, args.trials, args.timeout, args.storage)
    else:
        _report(args, config, paths)


def _compare_submissions(args: argparse.Namespace) -> None:
    from memdev.submission import leaderboard, ledger

    if args.stage == "diff":
        print(ledger.diff(args.a, args.b))
        return
    if len(args.files) not in (1, 2) or (len(args.files) == 1 and not args.comp):
        raise MemdevError("give SUBMISSION SOLUTION, or --comp SLUG SOLUTION to rank the ledger "
                          "(make score: SOLUTION=path, and FILE=x.csv or COMP=slug)")
    *submission, solution = args.files
    owner = submission_slug(submission[0]) if submission else None
    if args.comp and owner not in (None, args.comp):
        raise MemdevError(f"{submission[0]} is a submission of {owner}, not of {args.comp}")
    slug = args.comp or owner
    if slug is None:  # no competition to ask: the metric is named, or the default for the submission's kind
        source = "--metric" if args.metric else "the default for this kind of submission; name it with --metric"
        print(leaderboard.show(leaderboard.score(submission[0], solution, args.metric), source))
        return
    paths = Paths(slug, args.root)
    metric = args.metric or leaderboard.competition_metric(paths)
    if not submission:
        print(ledger.rank(paths, solution, metric))
        return
    source = "--metric" if args.metric else f"{slug}'s config"
    print(leaderboard.show(leaderboard.score(submission[0], solution, metric), source))


def _bring_in(args: argparse.Namespace, paths: Paths) -> None:
    if args.stage == "data":
        from memdev.ingest import fetch

        fetch.fetch(paths, args.zip)
    elif args.stage == "synth":
        from memdev.ingest import synthetic

        if args.comp == "demo":
            raise MemdevError("name the synthetic competition with --comp SLUG; the demo's files are left alone")
        synthetic.generate(paths, args.rows, args.columns, args.categorical, args.rate, args.seed,
                           anomalies=args.anomalies)
    elif args.score or args.file:
        from memdev.submission import ledger

        if not (args.score and args.file):
            raise MemdevError("record a score by hand with both --score and --file")
        # Kaggle's public score is of the competition's metric: a number that metric can give
        metric = config_io.load(paths.config).metric if paths.config.exists() else None
        score = ledger.hand_score(args.score, metric)
        ledger.set_fields(paths.ledger, paths.slug, args.file, public_score=score)
        print(f"{paths.ledger}: public score {score} recorded for {args.file}")
    else:
        from memdev.submission import ledger

        print(f"{paths.ledger}: {ledger.sync(paths)} rows updated from Kaggle")


def _report(args: argparse.Namespace, config, paths: Paths) -> None:
    from memdev.reporting import index
    from memdev.reporting.studies import compare, groups, outliers, scorers

    if args.stage == "compare":
        compare.run(config, paths, args.folds, _epochs(args.epochs))
    elif args.stage == "outliers":
        outliers.run(config, paths, args.top)
    elif args.stage == "scorers":
        scorers.run(config, paths)
    elif args.stage == "groups":
        groups.run(config, paths, args.column)
    else:
        print(index.run(config, paths, args.studies))


def _epochs(text: str) -> tuple[int, ...]:
    try:
        epochs = tuple(int(part) for part in text.split(","))
    except ValueError:
        epochs = ()
    if not epochs or min(epochs) < 1:
        raise MemdevError(f"--epochs {text!r}: give positive whole numbers separated by commas, e.g. 1,5,10")
    return epochs
