"""Weak versions of the fully labeled practice competitions (``python -m memdev.bench --weak``).

On a weak competition the CV counts a few dozen labeled anomalies, and the
anomalies left unlabeled count as normal: it cannot say which model ranks
those well, and that is what its leaderboard scores. A fully labeled
competition can play the part with its labels hidden: train.csv keeps
:data:`LABELS` anomaly labels drawn at random (a seed's own draw), every other
row is set to 0, and ``make train`` runs on that in the weak regime (metric
average precision). Each candidate's out-of-fold scores, and the pipeline's
(the chosen candidate's, or the ensemble's), are then scored against the
hidden labels of the training rows. Train.csv only: no test label is read.
A synthetic competition of local outliers (:data:`LOCAL`) runs beside them:
the kind where a detector that needs no labels beats every supervised one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from memdev.bench import seeds as bench_seeds
from memdev.bench import variants
from memdev.bench.render import NOTES
from memdev.bench.runs import edit_config, make, prepare

LABELS = 30  # anomaly labels kept, as in the practice sets' weak-30 regime
# a synthetic competition beside the practice sets, whose anomalies only a detector of local density sees
LOCAL = "local-outliers"
HEADING = "## Weak versions of the fully labeled competitions"
PIPELINE = "pipeline"
CUTS = ("pu", "f1")  # the weak regime's cut, and the F1 cut of the labels alone it replaced


def weaken(slug: str, source: Path, into: Path, seed: int) -> np.ndarray:
    """``into/<slug>.zip`` and ``.json``: ``slug`` with all but :data:`LABELS` anomaly labels of train.csv
    hidden, its regime ``weak-30`` and metric average precision; returns train.csv's true labels."""
    files, page = variants.unpack(slug, source)
    target = variants.frame(files, "sample_submission.csv", nrows=0).columns[1]
    train = variants.frame(files, "train.csv")
    truth = train[target].to_numpy().astype(int)
    kept = np.random.default_rng(seed).choice(np.flatnonzero(truth == 1), LABELS, replace=False)
    train[target] = np.isin(np.arange(len(train)), kept).astype(int)
    files["train.csv"] = train.to_csv(index=False).encode()
    page.update(regime=f"weak-{LABELS}", metric="average_precision", submission="score")
    variants.pack(slug, into, files, page)
    return truth


def local_source(into: Path) -> Path:
    """The folder holding :data:`LOCAL` as a fully labeled competition (``<slug>.zip`` and ``.json``), written
    there by :mod:`memdev.ingest.synthetic` unless it already is."""
    from memdev.ingest import synthetic
    from memdev.paths import Paths

    if not (into / f"{LOCAL}.json").exists():
        paths = Paths(LOCAL, into / "synth")
        synthetic.generate(paths, rows=12_000, rate=0.03, anomalies="local")
        files = {path.name: path.read_bytes() for path in (paths.train_csv, paths.test_csv, paths.sample_csv)}
        variants.pack(LOCAL, into, files, {"regime": "full", "metric": "f1", "submission": "label"})
    return into


def measure(slug: str, source: Path, root: Path, seed: int) -> dict:
    """``make train`` on the weak version of ``slug`` (config seed ``seed``); every candidate's and the
    pipeline's average precision and ROC-AUC against the hidden labels, and the chosen model; and, had the
    page asked for 0/1 labels, the share of rows each labeled cut (:data:`CUTS`) calls and its hidden-label F1.

    A finished measurement is kept in ``root/weak.json`` and read back.
    """
    from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

    from memdev import atomic
    from memdev import config as config_io
    from memdev.evaluation import threshold
    from memdev.paths import Paths
    from memdev.training.summary import CVSummary, load_oof

    done = root / "weak.json"
    if done.exists():
        return json.loads(done.read_text(encoding="utf-8"))
    truth = weaken(slug, source, root / "source", seed)
    project = root / "project"
    shutil.rmtree(project, ignore_errors=True)  # a run cut short
    prepare(slug, root / "source", project)
    paths = Paths(slug, project)
    edit_config(paths.config, {"seed": seed})
    make(project, "train", slug)
    oof = load_oof(paths)
    chosen = CVSummary.load(paths).model
    scores = {name: oof[name].to_numpy() for name in oof.columns.drop(["fold", "y"])}
    scores[PIPELINE] = scores[chosen]
    out = {"chosen": chosen, "scores": {name: [float(average_precision_score(truth, s)), float(roc_auc_score(truth, s))]
                                        for name, s in scores.items()}, "share": float(truth.mean()), "cuts": {}}
    config, y = config_io.load(paths.config), oof["y"].to_numpy()
    for strategy in CUTS:
        called = threshold.choose(config.with_params({"threshold.strategy": strategy}), scores[PIPELINE], y).apply(
            scores[PIPELINE])
        out["cuts"][strategy] = [float(called.mean()), float(f1_score(truth, called))]
    atomic.write_text(done, json.dumps(out, indent=1))
    return out


def section(done: dict[str, list[dict]], header: str) -> str:
    """The report: per competition, each candidate's hidden-label average precision (and the pipeline's
    ROC-AUC), mean ± std over the seeds, and what the pipeline chose."""
    names = [PIPELINE, "blend", "devnet", "stack", "gbm", "catboost", "iforest", "memae", "lof"]
    lines = [HEADING, "", header, "",
             f"Each fully labeled practice competition with all but {LABELS} anomaly labels of train.csv hidden (a",
             "seed's own draw), run by `make train` in the weak regime; the out-of-fold scores of each candidate",
             "and of what the pipeline submits, scored against the hidden labels of the training rows (average",
             "precision; ROC-AUC for the pipeline), mean ± std over the seeds. Train.csv only. Why the weak",
             f"regime leaves doubted rows out and blends four candidates: [{NOTES}]({NOTES}). `{LOCAL}` is",
             "synthetic (`memdev synth --anomalies local`): rows a little too far out of their own cluster, which",
             "LOF sees and 30 labels cannot teach a supervised model; there a label-free detector may replace",
             "the blend. `ensemble`: the blend without a part far behind the others on ROC-AUC.",
             "",
             "| competition | " + " | ".join(names) + " | pipeline ROC-AUC | chosen (per seed) |",
             "|---|" + "---|" * (len(names) + 2)]
    for slug, runs in done.items():
        def cell(name: str, metric: int = 0) -> str:
            return bench_seeds.cell([run["scores"][name][metric] for run in runs if name in run["scores"]])

        chosen = pd.Series([run["chosen"] for run in runs]).value_counts()
        lines.append(f"| {slug} | " + " | ".join(cell(name) for name in names) + f" | {cell(PIPELINE, 1)} | "
                     + ", ".join(f"{name} {count}" for name, count in chosen.items()) + " |")
    lines += ["", "Had the page asked for 0/1 labels scored by F1: the share of training rows the pipeline's",
              "out-of-fold scores call anomalous at the weak regime's cut (`pu`, the default) and at the F1 cut of",
              "the 30 labels alone (`f1`), and the F1 of those calls against the hidden labels; the share of",
              "anomalies the training rows hold beside them. The cut is chosen on all out-of-fold scores, as `make",
              "submit` takes it.",
              "", "| competition | anomalies | pu: share called | pu: hidden-label F1 | f1: share called | "
              "f1: hidden-label F1 |", "|---|---|---|---|---|---|"]
    for slug, runs in done.items():
        cuts = [run["cuts"] for run in runs if "cuts" in run]
        cells = [bench_seeds.cell([run["share"] for run in runs if "share" in run])]
        cells += [bench_seeds.cell([cut[strategy][i] for cut in cuts]) for strategy in CUTS for i in (0, 1)]
        lines.append(f"| {slug} | " + " | ".join(cells) + " |")
    return "\n".join(lines)

