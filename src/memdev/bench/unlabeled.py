"""Label-free versions of the practice competitions (``python -m memdev.bench --label-free``).

Without labels, memdev promises never to fall below IsolationForest (issue
15). The practice competitions with a target play the part with it taken
away: ``<slug>-unsupervised`` drops train.csv's target column and keeps every
row, anomalies included (a contaminated training set); ``<slug>-novelty``, of
the fully labeled ones only (where a row labeled 0 is surely normal), drops
the anomalous rows too; a novelty competition plays itself. Each is a score
competition judged by ROC-AUC on the original test.csv and its Public half,
run as ``make bench`` runs a competition: the pipeline, each of its candidates
(the MemAE's error, IsolationForest, LOF) and the IsolationForest anchor.
Nothing in a label-free run can choose by a label, so the Public half checks
and does not choose.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from memdev.bench import competition, variants
from memdev.bench import seeds as bench_seeds
from memdev.bench.render import num
from memdev.bench.results import Result

KINDS = ("unsupervised", "novelty")
METRIC = "roc_auc"
ANCHOR = "IsolationForest"
CANDIDATES = ("memae", "iforest", "lof")
HEADING = "## Label-free versions of the practice competitions"


def versions(source: Path, slugs: list[str]) -> list[tuple[str, str]]:
    """``(slug, kind)`` of every label-free version of ``slugs``: unsupervised where train.csv has anomalies,
    novelty where none is left unlabeled (a fully labeled or a novelty competition)."""
    regimes = {slug: json.loads((source / f"{slug}.json").read_text(encoding="utf-8"))["regime"] for slug in slugs}
    wanted = {"unsupervised": ("full", "weak", "unsupervised"), "novelty": ("full", "novelty")}
    return [(slug, kind) for slug, regime in regimes.items() for kind in KINDS if regime.split("-")[0] in wanted[kind]]


def name(slug: str, kind: str, source: Path) -> str:
    """The version's slug: ``<slug>-<kind>``, or ``slug`` itself where it is of that kind already."""
    regime = json.loads((source / f"{slug}.json").read_text(encoding="utf-8"))["regime"]
    return slug if regime == kind else f"{slug}-{kind}"


def strip(slug: str, kind: str, source: Path, into: Path) -> str:
    """``into/<version>.zip``, ``.json`` and ``.solution.csv``: ``slug`` without its training labels (and, for
    novelty, without its anomalous training rows), a score competition judged by ROC-AUC on the same test rows
    and Public half. Returns the version's slug (:func:`name`)."""
    version = name(slug, kind, source)
    files, page = variants.unpack(slug, source)
    sample = variants.frame(files, "sample_submission.csv")
    target = sample.columns[1]
    train = variants.frame(files, "train.csv")
    if target in train.columns:
        train = train[train[target] == 0] if kind == "novelty" else train
        files["train.csv"] = train.drop(columns=target).to_csv(index=False).encode()
    files["sample_submission.csv"] = sample.assign(**{target: 0.5}).to_csv(index=False).encode()  # a score
    page.update(regime=kind, metric=METRIC, submission="score")
    variants.pack(version, into, files, page)
    shutil.copyfile(source / f"{slug}.solution.csv", into / f"{version}.solution.csv")
    return version


def measure(slug: str, kind: str, source: Path, root: Path, seed: int) -> Result:
    """The ``kind`` version of ``slug`` in ``root/source``, then :func:`memdev.bench.competition.run` in
    ``root/project`` (config seed ``seed``); a finished run is read back."""
    project = root / "project"
    if not (project / "result.json").exists():
        shutil.rmtree(root, ignore_errors=True)  # a run cut short
        strip(slug, kind, source, root / "source")
    return competition.run(name(slug, kind, source), root / "source", project, seed)


def section(done: list[Result], header: str) -> str:
    """Per version: ROC-AUC of the pipeline, each label-free candidate and the IsolationForest anchor, mean ±
    std over the seeds, what was submitted, and the pipeline against the anchor seed by seed."""
    lines = [HEADING, "", header, "",
             "Each practice competition with its training labels taken away: `-unsupervised` keeps every row of",
             "train.csv, anomalies included; `-novelty` (fully labeled competitions only) keeps the rows labeled 0;",
             "a novelty competition runs as it is. `make train` and `make submit` in that regime, each candidate",
             "submitted on its own, and IsolationForest at its defaults (the anchor), all scored by ROC-AUC on the",
             "Public half. No label chooses anything here: the label-free rule decides from the features' shape",
             "(README, \"How a score is made\"). The anchor is one forest of 100 trees, the pipeline's IsolationForest",
             "five of 200 (one a fold), so the anchor moves more from seed to seed. Mean ± std over the seeds; the",
             "last columns take the difference seed by seed.", "",
             "| version | pipeline | " + " | ".join(CANDIDATES) + f" | {ANCHOR} (anchor) | submitted (per seed) | "
             "pipeline − anchor | seeds at or above |",
             "|---|" + "---|" * (len(CANDIDATES) + 5)]
    ahead, memae = [], []
    for slug, runs in bench_seeds.grouped(done).items():
        mine, anchor = bench_seeds.public(runs, "pipeline"), bench_seeds.public(runs, ANCHOR)
        diffs = [a - b for a, b in zip(mine, anchor) if a is not None and b is not None]
        ahead += [float(np.mean(diffs))] if diffs else []
        error, forest = (bench_seeds.spread(bench_seeds.public(runs, model)) for model in ("memae", "iforest"))
        memae += [error[0] > forest[0]] if error and forest else []
        chosen = pd.Series([run.chosen for run in runs]).value_counts()
        lines.append(f"| {slug} | " + " | ".join(bench_seeds.cell(bench_seeds.public(runs, model))
                                                  for model in ("pipeline", *CANDIDATES, ANCHOR))
                     + " | " + ", ".join(f"{model} {count}" for model, count in chosen.items())
                     + f" | {bench_seeds.cell(diffs)} | {int(np.sum(np.array(diffs) >= 0))} of {len(diffs)} |")
    lines += [f"| {r.slug} | seed {r.seed} failed: {r.error.replace('|', '/')} |" for r in done if r.error]
    if ahead:
        lines += ["", "On the mean over the seeds the pipeline is at or above IsolationForest on "
                      f"{sum(d >= 0 for d in ahead)} of {len(ahead)} versions (the smallest difference "
                      f"{num(min(ahead))}). The MemAE's error alone is ahead of the pipeline's IsolationForest on "
                      f"{sum(memae)} of {len(memae)}; without labels nothing here can tell which."]
    return "\n".join(lines)
