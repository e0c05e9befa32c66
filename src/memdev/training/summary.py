"""What the finetune stage decided, and the out-of-fold scores it decided on.

``cv.json`` holds a :class:`CVSummary`; ``oof.parquet`` the out-of-fold scores
of every candidate; ``test_scores.parquet`` every candidate's scores of the
test rows (the mean of its fold models'), and for a label competition
``test_fold_scores.npz`` each fold model's own. All are written by ``finetune`` (or
``tune``, for its best trial) and read, through this module only, by
``submit``, the reports and the benchmark.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from memdev import atomic, manifest
from memdev.errors import MemdevError
from memdev.evaluation.threshold import Threshold
from memdev.paths import Paths


@dataclass
class CVSummary:
    """The chosen candidate, its cross-validated metric, the threshold, and what the models were built from."""

    model: str  # the chosen candidate, or "ensemble" (see weights)
    metric: str  # the competition's metric
    regime: str
    # the nested CV of the whole selection (candidate, weights, cut chosen without each fold); None without labels
    value: float | None
    threshold: Threshold
    # every candidate's CV, its cut (and the ensemble's weights) chosen without each fold: what the choice is made on
    candidates: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # the full table of the nested predictions (with labels)
    per_fold: list[float | None] = field(default_factory=list)  # the nested CV metric of each held-out fold
    chosen_per_fold: list[str] = field(default_factory=list)  # what the selection chose without each fold
    optimistic: float | None = None  # the chosen model's CV with model and cut picked on these same scores
    weights: dict[str, float] = field(default_factory=dict)  # the ensemble's (or the label-free rule's) rank weights
    reason: str = ""  # why the label-free rule, or a label-free rival of the weak regime's blend, was chosen
    score_quantiles: dict[str, float] = field(default_factory=dict)
    stamp: dict[str, str] = field(default_factory=dict)  # digests of the config and features used

    @property
    def labeled(self) -> bool:
        return self.value is not None

    @property
    def tag(self) -> str:
        """``<metric>-<value>`` for file names, ``nocv`` without a CV value."""
        return f"{self.metric}-{self.value:.4f}" if self.value is not None else "nocv"

    def save(self, paths: Paths) -> None:
        data = dataclasses.asdict(self)
        atomic.write_text(paths.cv, json.dumps(data, indent=1))

    @classmethod
    def load(cls, paths: Paths) -> "CVSummary":
        again = f"run `make train COMP={paths.slug}`"
        if not paths.cv.exists():
            raise MemdevError(f"{paths.cv}: no trained models; {again} first")
        try:
            data = json.loads(paths.cv.read_text(encoding="utf-8"))
            data["threshold"] = Threshold(**data["threshold"])
            return cls(**data)
        except json.JSONDecodeError as exc:
            raise MemdevError(f"{paths.cv}: not valid JSON ({exc}); {again} again") from None
        except (KeyError, TypeError) as exc:
            raise MemdevError(f"{paths.cv}: not what this version of memdev writes ({exc}); {again} again") from None


def save_oof(paths: Paths, folds: np.ndarray, y: np.ndarray, scores: dict[str, np.ndarray]) -> None:
    frame = pd.DataFrame({"fold": folds, "y": y, **scores})
    with atomic.atomic_path(paths.oof) as tmp:
        frame.to_parquet(tmp, index=False)


def load_oof(paths: Paths, needed: tuple[str, ...] = ()) -> pd.DataFrame:
    """Columns ``fold``, ``y`` and one per candidate; ``needed`` names candidates that must be there."""
    if not paths.oof.exists():
        raise MemdevError(f"{paths.oof}: no out-of-fold scores; run `make train COMP={paths.slug}` first")
    frame = pd.read_parquet(paths.oof)
    for column in ("fold", "y", *needed):
        if column not in frame.columns:
            raise MemdevError(f"{paths.oof}: has no column {column!r} (columns: {', '.join(frame.columns)})")
    return frame


def save_test_scores(paths: Paths, scores: dict[str, np.ndarray]) -> None:
    with atomic.atomic_path(paths.test_scores) as tmp:
        pd.DataFrame(scores).to_parquet(tmp, index=False)
    manifest.record(paths, [paths.test_scores])


def save_test_fold_scores(paths: Paths, scores: dict[str, np.ndarray]) -> None:
    """``scores``: each candidate's fold models' scores of the test rows, one row per fold model."""
    with atomic.atomic_path(paths.test_fold_scores) as tmp:
        np.savez(tmp, **{name: values.astype(np.float32) for name, values in scores.items()})
    manifest.record(paths, [paths.test_fold_scores])


def load_test_fold_scores(paths: Paths) -> dict[str, np.ndarray] | None:
    """What :func:`save_test_fold_scores` wrote; None where training predates it (or wrote none)."""
    if not paths.test_fold_scores.exists():
        return None
    manifest.verify(paths, [paths.test_fold_scores])
    with np.load(paths.test_fold_scores) as stored:
        return {name: stored[name].astype(float) for name in stored.files}


def load_test_scores(paths: Paths) -> pd.DataFrame:
    """One column per candidate, in test.csv's row order (checked against the manifest)."""
    if not paths.test_scores.exists():
        raise MemdevError(f"{paths.test_scores}: no test scores; run `make train COMP={paths.slug}` first")
    manifest.verify(paths, [paths.test_scores])
    return pd.read_parquet(paths.test_scores)
