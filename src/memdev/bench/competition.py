"""One practice competition end to end: the pipeline with make, its candidates, the anchors, then the leaderboard.

The solution file is read last, once every submission exists: nothing that
made a submission could have seen it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from memdev.bench.anchors import anchors
from memdev.bench.results import Model, Result
from memdev.bench.runs import edit_config, make, prepare


def run(slug: str, source: Path, root: Path, seed: int = 0) -> Result:
    """``make train`` and ``make submit`` on ``slug`` with config ``seed`` in a fresh ``root``, then the scores.

    Besides the pipeline's submission, each of its candidates is submitted on its
    own (from the same fold models) and the anchors are fitted. A finished run
    is saved in ``root/result.json`` and read back instead of run again. A
    failure is kept in :attr:`Result.error`: one broken competition must not end the run.
    """
    from memdev import config as config_io
    from memdev.paths import Paths
    from memdev.training.summary import CVSummary

    done = root / "result.json"
    if done.exists():
        return Result.load(done)
    result = Result(slug, seed=seed)
    try:
        result.edits = prepare(slug, source, root)
        paths = Paths(slug, root)
        if seed:
            result.edits += edit_config(paths.config, {"seed": seed})
        train = make(root, "train", slug)
        submit = make(root, "submit", slug)
        csv = root / submit.last_line
        if not csv.is_file():
            raise RuntimeError(f"make submit's last line {submit.last_line!r} is not a file")
        config = config_io.load(paths.config)
        summary = CVSummary.load(paths)
        result.metric, result.regime, result.chosen, result.cv = config.metric, config.regime, summary.model, summary.value
        result.weights = summary.weights
        result.models = [Model("pipeline", csv, train.seconds, submit.seconds, max(train.peak_mib, submit.peak_mib),
                               cv=summary.value)]
        result.candidates = candidates(root, slug)
        result.models += anchors(root, slug)
        # every submission exists: only now is the solution read
        score(result.models + result.candidates, source / f"{slug}.solution.csv", result.metric)
        result.save(done)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        print(f"  failed: {result.error}", flush=True)
    return result


def candidates(root: Path, slug: str) -> list[Model]:
    """Each candidate of the trained pipeline submitted on its own, with its nested CV.

    The fold models are the pipeline's; each candidate's cut (label
    competitions) and the ensemble's weights are chosen on all out-of-fold
    scores, as ``make submit`` would if that candidate had won.
    """
    from memdev import atomic
    from memdev import config as config_io
    from memdev.evaluation import threshold
    from memdev.paths import Paths
    from memdev.submission import submit
    from memdev.training import selection
    from memdev.training.summary import CVSummary, load_oof

    paths = Paths(slug, root)
    config, summary = config_io.load(paths.config), CVSummary.load(paths)
    oof = load_oof(paths)
    y, folds = oof["y"].to_numpy(dtype=int), oof["fold"].to_numpy()
    names = [n for n in oof.columns if n not in ("fold", "y", selection.ENSEMBLE)]
    ranks = {name: selection.fold_ranks(oof[name].to_numpy(dtype=float), folds) for name in names}
    if config.labeled and not config.threshold.strategy and summary.value is None:
        config = config.with_params({"threshold.strategy": "quantile"})  # as finetune does without enough labels
    out = []
    for name in list(summary.candidates) or names:
        started = time.perf_counter()
        choice = selection.fit(config, name, ranks, y, np.arange(len(y)))
        scores = choice.score(ranks, np.arange(len(y))) if name == selection.ENSEMBLE else oof[name].to_numpy(dtype=float)
        alone = dataclasses.replace(summary, model=name, weights=choice.weights)
        if config.submission == "label":
            test = submit.test_labels(paths, dataclasses.replace(alone, threshold=threshold.choose(config, scores, y)))
        else:
            test = submit.test_scores(paths, alone)
        csv = root / "candidates" / f"{name}.csv"
        atomic.write_text(csv, submit.build(config, paths, test).to_csv(index=False, lineterminator="\n"))
        out.append(Model(name, csv, 0.0, time.perf_counter() - started, 0.0, cv=summary.candidates.get(name)))
    print(f"  candidates submitted: {', '.join(m.name for m in out)}", flush=True)
    return out


def score(models: list[Model], solution: Path, metric: str) -> None:
    """Fill in each model's ``scores`` on every leaderboard half ``solution`` holds (Public only, or both)."""
    from memdev.submission import leaderboard

    for model in models:
        model.scores = leaderboard.score(model.csv, solution, metric)
