"""What the report tests share: the outputs of a fake `make train`, a ledger, and a figure recorder.

Imported by the tests beside it (``from report_fakes import ...``); no models
are trained: cv.json and oof.parquet are written directly, the way finetune
writes them.
"""

import re

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from memdev.config import Config
from memdev.evaluation import metrics, threshold
from memdev.reporting import plots
from memdev.submission import ledger
from memdev.training import stamps
from memdev.training.summary import CVSummary, save_oof

PNG = b"\x89PNG\r\n\x1a\n"
LABELED_FIGURES = ["pr_curve.png", "f1_threshold.png", "score_histogram.png", "cv_folds.png", "memae_loss.png"]
# (cv, public): #4 has the best CV but no public score yet; #3 has the best public score;
# #1 has a better CV than #3 but a public score just outside the 0.005 window; #2 is inside it.
LEDGER = [("0.83", "0.788", "aaa"), ("0.80", "0.792", "bbb"), ("0.82", "0.795", "ccc"), ("0.86", "", "ddd")]


def labeled_config(metric="f1"):
    return Config(slug="fake", id_column="id", target_column="target", submission="label", regime="full", metric=metric)


def unlabeled_config():
    return Config(slug="fake", id_column="id", target_column=None, submission="label", regime="novelty", metric="f1")


def write_labeled(paths, config, rows=500, seed=0) -> tuple[CVSummary, pd.DataFrame]:
    """cv.json and oof.parquet of a 500-row, 10%-anomalous, separable-ish competition."""
    rng = np.random.default_rng(seed)
    y = np.zeros(rows, dtype=np.int8)
    y[rng.choice(rows, rows // 10, replace=False)] = 1
    folds = (np.arange(rows) % 5).astype(np.int8)
    memae = rng.lognormal(-3.5, 0.4, rows) * np.where(y == 1, 1.8, 1.0)
    devnet = rng.normal(0, 1, rows) + 3.0 * y
    devnet[:3] = [5e5, -7e5, 2e4]  # DevNet's deviations have extreme outliers: the plots must cope
    stack = 1 / (1 + np.exp(-(rng.normal(-3, 1.5, rows) + 4.5 * y)))
    blend = (rankdata(devnet) + rankdata(stack)) / (2 * rows)
    scores = {"memae": memae, "devnet": devnet, "stack": stack, "blend": blend}
    candidates = {}
    for name, values in scores.items():
        cut = threshold.choose(config, values, y)
        candidates[name] = metrics.primary(config.metric, y, values, cut.apply(values))
    chosen = max(candidates, key=candidates.get)
    cut = threshold.choose(config, scores[chosen], y)
    called = cut.apply(scores[chosen])
    per_fold = [metrics.primary(config.metric, y[folds == k], scores[chosen][folds == k], called[folds == k])
                for k in range(5)]
    summary = CVSummary(model=chosen, metric=config.metric, regime="full", value=candidates[chosen], threshold=cut,
                        candidates=candidates, metrics=metrics.evaluate(y, scores[chosen], called), per_fold=per_fold)
    return _save(paths, config, summary, folds, y, scores)


def write_unlabeled(paths, config, rows=400, seed=1) -> tuple[CVSummary, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    memae = rng.lognormal(-3.5, 0.5, rows)
    y = np.zeros(rows, dtype=np.int8)
    summary = CVSummary(model="memae", metric="f1", regime="novelty", value=None,
                        threshold=threshold.choose(config, memae, y))
    return _save(paths, config, summary, (np.arange(rows) % 5).astype(np.int8), y, {"memae": memae})


def _save(paths, config, summary, folds, y, scores):
    paths.models.mkdir(parents=True, exist_ok=True)
    summary.stamp = stamps.of(config, paths)  # what finetune stamps: this config, no features
    summary.save(paths)
    save_oof(paths, folds, y, scores)
    return summary, pd.read_parquet(paths.oof)


def write_ledger(paths, rows=LEDGER):
    """Another competition's submission, then this one's ``rows`` of (cv, public, sha256)."""
    ledger.append(paths.ledger, {"competition": "other", "file": "submissions/other/x.csv", "cv_metric": "f1",
                                 "cv_value": "0.99", "public_score": "0.99", "sha256": "zzz"})
    for k, (cv, public, sha) in enumerate(rows, start=1):
        ledger.append(paths.ledger, {
            "time": f"2026-01-0{k}T00:00:00+00:00", "competition": paths.slug, "file": f"submissions/{paths.slug}/s{k}.csv",
            "sha256": sha, "model": "blend", "cv_metric": "f1", "cv_value": cv, "public_score": public})


def record_figures(monkeypatch) -> dict:
    """Record the title, axis labels and legend of every figure the reports save, by file name."""
    seen = {}
    save = plots.save

    def recording(stage, path, figure, written):
        axes = figure.axes[0]
        legends = [t.get_text() for legend in figure.legends + [a.get_legend() for a in figure.axes if a.get_legend()]
                   for t in legend.get_texts()]
        seen[path.name] = {"title": axes.get_title(), "x": axes.get_xlabel(), "y": axes.get_ylabel(), "legend": legends}
        save(stage, path, figure, written)

    monkeypatch.setattr(plots, "save", recording)
    return seen


def links(page) -> set[str]:
    """Every link target of a Markdown page."""
    return set(re.findall(r"\]\(([^)]+)\)", page.read_text()))


def messages(caplog) -> list[str]:
    """The reporting package's log lines."""
    return [r.getMessage() for r in caplog.records if r.name.startswith("memdev.reporting")]
