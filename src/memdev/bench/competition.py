"""One practice competition end to end: the pipeline with make, the anchors, then the leaderboard.

The solution file is read last, once every submission exists: nothing that
made a submission could have seen it.
"""

from __future__ import annotations

from pathlib import Path

from memdev.bench.anchors import anchors
from memdev.bench.results import Model, Result
from memdev.bench.runs import make, prepare


def run(slug: str, source: Path, root: Path) -> Result:
    """``make train`` and ``make submit`` on ``slug`` in a fresh ``root``, the anchors, then their scores.

    A failure is kept in :attr:`Result.error`: one broken competition must not end the run.
    """
    from memdev import config as config_io
    from memdev.paths import Paths
    from memdev.training.summary import CVSummary

    result = Result(slug)
    try:
        result.edits = prepare(slug, source, root)
        train = make(root, "train", slug)
        submit = make(root, "submit", slug)
        csv = root / submit.last_line
        if not csv.is_file():
            raise RuntimeError(f"make submit's last line {submit.last_line!r} is not a file")
        paths = Paths(slug, root)
        config = config_io.load(paths.config)
        summary = CVSummary.load(paths)
        result.metric, result.regime, result.chosen, result.cv = config.metric, config.regime, summary.model, summary.value
        result.models = [Model("pipeline", csv, train.seconds, submit.seconds, max(train.peak_mib, submit.peak_mib))]
        result.models += anchors(root, slug)
        # every submission exists: only now is the solution read
        score(result.models, source / f"{slug}.solution.csv", result.metric)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        print(f"  failed: {result.error}", flush=True)
    return result


def score(models: list[Model], solution: Path, metric: str) -> None:
    """Fill in each model's ``scores`` on every leaderboard half ``solution`` holds (Public only, or both)."""
    from memdev.submission import leaderboard

    for model in models:
        model.scores = leaderboard.score(model.csv, solution, metric)
