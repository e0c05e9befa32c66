"""What one competition's run measured, and the comparisons the report draws from it.

Each model's ``scores`` are :func:`memdev.submission.leaderboard.score`'s: one
entry per leaderboard half the solution file holds. The practice solutions hold
the Public half only (as Kaggle's public leaderboard does), so every comparison
here is made on the Public half and a missing half is ``None``, never an error.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from memdev import atomic

PUBLIC, PRIVATE = "Public", "Private"

# issue 3: a target on the competition's metric, and the best anchor issue 3 quotes. Issue 3 set
# them on the Private half; the solution files now hold the Public half only, so they are compared there.
TARGETS = {
    "bank-marketing": ("f1", 0.65, "0.641 (HistGradientBoosting)"),
    "bank-marketing-weak": ("average_precision", 0.37, "0.288 (IsolationForest)"),
    "cardio": ("f1", 0.92, "0.922 (HistGradientBoosting)"),
    "mammography": ("average_precision", 0.50, "0.474 (DeepSAD)"),
    "satellite": ("roc_auc", 0.85, "0.821 (HistGradientBoosting)"),
    "shuttle": ("f1", 0.995, "0.9995 (HistGradientBoosting)"),
    "thyroid": ("average_precision", 0.97, "0.977 (HistGradientBoosting)"),
    "mnist-novelty": ("f1", 0.65, "0.634 (PyOD AutoEncoder, top-5% rule)"),
}


@dataclass
class Model:
    """One submission and what it cost; ``scores`` is filled in by the leaderboard at the end."""

    name: str
    csv: Path | None
    train_seconds: float
    predict_seconds: float
    peak_mib: float
    note: str = ""
    scores: dict = field(default_factory=dict)
    cv: float | None = None  # the nested CV (the pipeline and its candidates; anchors have none)

    def value(self, half: str = PUBLIC, key: str = "score") -> float | None:
        """``key`` on leaderboard half ``half``; ``None`` when the solution has no such half or it was not scored."""
        value = self.scores.get(half, {}).get(key)
        return None if value is None or not math.isfinite(value) else float(value)


@dataclass
class Result:
    """One competition: the pipeline's model first, then the anchors that could be fitted."""

    slug: str
    metric: str = ""
    regime: str = ""
    chosen: str = ""
    cv: float | None = None
    edits: list[str] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    error: str = ""
    seed: int = 0
    candidates: list[Model] = field(default_factory=list)  # each candidate of the pipeline, submitted on its own
    weights: dict[str, float] = field(default_factory=dict)  # the chosen ensemble's

    def save(self, path: Path) -> None:
        atomic.write_text(path, json.dumps(dataclasses.asdict(self), indent=1, default=str))

    @classmethod
    def load(cls, path: Path) -> "Result":
        """A run saved by :meth:`save` (a bench run cut short resumes from these)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("models", "candidates"):
            data[key] = [Model(**{**m, "csv": Path(m["csv"]) if m["csv"] else None}) for m in data[key]]
        return cls(**data)

    @property
    def pipeline(self) -> Model | None:
        return self.models[0] if self.models else None

    @property
    def anchors(self) -> list[Model]:
        return self.models[1:]


def has_half(results: list[Result], half: str) -> bool:
    """Whether any model of ``results`` was scored on ``half``."""
    return any(model.value(half) is not None for result in results for model in result.models)


def best_anchor(result: Result | None, half: str = PUBLIC) -> Model | None:
    """The anchor with the highest metric on ``half``, among those scored there."""
    scored = [m for m in result.anchors if m.value(half) is not None] if result else []
    return max(scored, key=lambda m: m.value(half), default=None)


def over_best_anchor(result: Result, half: str = PUBLIC) -> tuple[float, str] | None:
    """The pipeline's metric over the best anchor's on ``half``, and that anchor's name."""
    best = best_anchor(result, half)
    mine = result.pipeline.value(half) if result.pipeline else None
    if best is None or mine is None or not best.value(half):
        return None
    return mine / best.value(half), best.name


@dataclass
class Target:
    """One of issue 3's targets beside what this run measured (``None``: not run, or not scored)."""

    slug: str
    metric: str
    goal: float
    quoted: str  # the best anchor issue 3 quotes
    value: float | None  # the pipeline's
    best_value: float | None = None  # this run's best anchor
    best_name: str = ""


def targets(results: list[Result], half: str = PUBLIC) -> list[Target]:
    """Every target of :data:`TARGETS`, with what ``results`` measured on ``half``."""
    by_slug = {r.slug: r for r in results}
    out = []
    for slug, (metric, goal, quoted) in TARGETS.items():
        result = by_slug.get(slug)
        target = Target(slug, metric, goal, quoted, result.pipeline.value(half) if result and result.pipeline else None)
        best = best_anchor(result, half)
        if best is not None:
            target.best_value, target.best_name = best.value(half), best.name
        out.append(target)
    return out
