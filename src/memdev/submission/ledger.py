"""``submissions/ledger.csv``: one row per submission, for leaderboard iteration.

Rows are added by ``make submit``; public (and, after the deadline, private)
scores are filled in by ``make lb`` from the kaggle CLI or by hand. Several
processes may do so at once: every read-modify-write holds the ledger's lock.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from memdev import atomic
from memdev.errors import MemdevError
from memdev.ingest import kaggle_cli, schema
from memdev.ingest.tables import read_csv
from memdev.paths import Paths, submission_slug
from memdev.submission import leaderboard

# where a hand-entered score of each metric can lie; every other metric lies in [0, 1]
SCORE_RANGES = {"mcc": (-1.0, 1.0)}

COLUMNS = [
    "time", "competition", "file", "sha256", "config_hash", "model", "cv_metric", "cv_value",
    "trial", "git_commit", "message", "uploaded", "public_score", "private_score",
]


def read(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.reindex(columns=COLUMNS, fill_value="")


def write(path: Path, frame: pd.DataFrame) -> None:
    atomic.write_text(path, frame.to_csv(index=False, lineterminator="\n"))


def append(path: Path, row: dict) -> None:
    with atomic.locked(path):
        frame = read(path)
        write(path, pd.concat([frame, pd.DataFrame([{c: row.get(c, "") for c in COLUMNS}])], ignore_index=True))


def set_fields(path: Path, competition: str, file: str, **fields: str) -> None:
    """Update the row of ``competition``'s submission ``file`` (matched by file name among its rows)."""
    owner = submission_slug(file)
    if owner not in (None, competition):
        raise MemdevError(f"{file} is a submission of {owner}, not of {competition}")
    with atomic.locked(path):
        frame = read(path)
        named = frame["file"].map(lambda f: Path(f).name) == Path(file).name
        rows = named & (frame["competition"] == competition)
        if not rows.any():
            # the same name in another competition's rows: a slip of COMP, not a new file
            others = sorted(set(frame.loc[named, "competition"]))
            if others:
                raise MemdevError(f"{file} is a submission of {', '.join(others)}, not of {competition}")
            raise MemdevError(f"{path}: no submission of {competition} named {Path(file).name!r}")
        for key, value in fields.items():
            frame.loc[rows, key] = value
        write(path, frame)


def hand_score(text: str, metric: str | None) -> str:
    """A score typed by hand, checked: a number, and one ``metric`` can give (any number if it is None)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise MemdevError(f"score {text!r} is not a number (e.g. SCORE=0.812)")
    low, high = SCORE_RANGES.get(metric, (0.0, 1.0))
    if metric and not low <= value <= high:
        raise MemdevError(f"score {text} is out of range for {metric}: {metric} lies between {low:g} and {high:g}")
    return f"{value:.10g}"


def sync(paths: Paths) -> int:
    """Fill public/private scores from `kaggle competitions submissions`; return rows updated."""
    listing = pd.read_csv(io.StringIO(kaggle_cli.submissions(paths.slug)), dtype=str, keep_default_na=False)
    needed = {"fileName", "publicScore"}
    if not needed <= set(listing.columns):
        raise MemdevError(f"kaggle competitions submissions: expected columns {sorted(needed)}, got {list(listing.columns)}")
    updated = 0
    with atomic.locked(paths.ledger):  # the slow kaggle call above is outside the lock
        frame = read(paths.ledger)
        for _, entry in listing.iterrows():
            rows = (frame["competition"] == paths.slug) & (frame["file"].map(lambda f: Path(f).name) == entry["fileName"])
            if rows.any() and entry["publicScore"] not in ("", "None"):
                frame.loc[rows, "public_score"] = entry["publicScore"]
                if entry.get("privateScore", "") not in ("", "None"):
                    frame.loc[rows, "private_score"] = entry["privateScore"]
                updated += int(rows.sum())
        write(paths.ledger, frame)
    return updated


def diff(a: Path, b: Path) -> str:
    """How much two submissions of the same competition really differ."""
    left, right = read_csv(a), read_csv(b)
    key = left.columns[0]
    if list(left.columns[:2]) != list(right.columns[:2]):
        raise MemdevError(f"{a} and {b} have different columns: {list(left.columns)} vs {list(right.columns)}")
    merged = left.merge(right, on=key, suffixes=("_a", "_b"))
    if len(merged) != len(left) or len(merged) != len(right):
        raise MemdevError(f"{a} and {b} do not have the same ids")
    target = left.columns[1]
    x, y = merged[f"{target}_a"], merged[f"{target}_b"]
    levels = schema.label_levels(pd.concat([x, y]))  # labels written as the target's own levels (fraud/legit)
    if levels:
        x, y = (schema.as_levels(side).map(levels) for side in (x, y))
    x, y = x.to_numpy(float), y.to_numpy(float)
    if np.isin(x, [0, 1]).all() and np.isin(y, [0, 1]).all():
        changed = int((x != y).sum())
        return (
            f"{changed} of {len(x)} ids changed label ({changed / len(x):.2%}): "
            f"{int(((x == 0) & (y == 1)).sum())} became 1, {int(((x == 1) & (y == 0)).sum())} became 0; "
            f"anomalies called: {int(x.sum())} vs {int(y.sum())}"
        )
    rho = spearmanr(x, y).statistic
    top = max(1, len(x) // 10)
    overlap = len(set(np.argsort(-x)[:top]) & set(np.argsort(-y)[:top])) / top
    return f"rank correlation {rho:.4f} over {len(x)} ids; the top 10% overlap {overlap:.1%}"


def rank(paths: Paths, solution: Path, metric: str | None = None) -> str:
    """A local leaderboard: every ledger submission of this competition, scored on each half the solution holds
    by ``metric`` (default: the competition's config's).

    Ranked by the Private half where the solution has one, else by the Public half. A row's CV is shown
    only where it is of the same metric; others are left out of the table and named below it.
    """
    metric = metric or leaderboard.competition_metric(paths)
    frame = read(paths.ledger)
    frame = frame[frame["competition"] == paths.slug]
    if frame.empty:
        raise MemdevError(f"{paths.ledger}: no submissions for {paths.slug!r} yet")
    rows, other = [], []
    for _, entry in frame.iterrows():
        file = paths.root / entry["file"] if not Path(entry["file"]).is_absolute() else Path(entry["file"])
        scores = leaderboard.score(file, solution, metric) if file.exists() else None
        cv = f"{float(entry['cv_value']):.4f}" if entry["cv_value"] else "-"
        if cv != "-" and entry["cv_metric"] != metric:
            other.append(f"{Path(entry['file']).name} ({entry['cv_metric'] or 'metric unknown'} {cv})")
            cv = "other"
        rows.append((entry["file"], cv, scores))
    halves = [h for h in ("Public", "Private") if any(s and h in s for _, _, s in rows)] or ["Public"]
    deciding = halves[-1]
    rows.sort(key=lambda r: -(r[2][deciding]["score"] if r[2] and deciding in r[2] else float("-inf")))
    width = max(len(Path(r[0]).name) for r in rows)
    lines = [f"{metric} on each half of {solution.name}, ranked by the {deciding.lower()} half; "
             f"CV: out-of-fold {metric}",
             f"{'submission':<{width}}  {'CV':>8}" + "".join(f"  {h.lower():>8}" for h in halves)]
    for file, cv, scores in rows:
        cells = [f"{scores[h]['score']:>8.4f}" if scores and h in scores else f"{'missing':>8}" for h in halves]
        lines.append(f"{Path(file).name:<{width}}  {cv:>8}  " + "  ".join(cells))
    if other:
        lines.append(f"CV other: of another metric than {metric}, so left out: " + ", ".join(other))
    return "\n".join(lines)
