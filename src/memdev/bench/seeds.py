"""``make bench`` over several seeds: means ± standard deviations, each candidate, and what the MemAE adds.

Every competition runs once per config ``seed``; the tables here pool those
runs. The practice solutions hold the Public half only, so every comparison is
on the Public half. The anchors of ``../shared/competitions/ANCHORS.md`` were
scored on the whole test set (both halves), so they are quoted beside ours, not
as the same measurement.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from memdev.bench.results import Result
from memdev.models.ranks import BLEND_PARTS

ANCHORS = ("IsolationForest", "HistGradientBoosting", "LightGBM", "CatBoost")
# the boosters alone, and the candidates that hold a MemAE view or the DevNet head
BOOSTERS, WITH_MEMAE = ("gbm", "catboost"), ("stack", "devnet", "blend")


def published(path: Path) -> dict[str, tuple[float, str]]:
    """The best anchor of each competition in ANCHORS.md's table: {slug: (value, name)}."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"\*{0,2}([0-9.]+)\*{0,2} (.+)", cells[-1]) if len(cells) > 3 else None
        if match:
            out[cells[0]] = (float(match.group(1)), match.group(2))
    return out


def spread(values: list[float | None]) -> tuple[float, float] | None:
    """Mean and standard deviation of the values that exist."""
    present = [v for v in values if v is not None]
    return (float(np.mean(present)), float(np.std(present))) if present else None


def cell(values: list[float | None]) -> str:
    found = spread(values)
    return "n/a" if found is None else f"{found[0]:.4f} ± {found[1]:.4f}"


def grouped(done: list[Result]) -> dict[str, list[Result]]:
    """Each competition's runs that finished, in the order they came."""
    out: dict[str, list[Result]] = {}
    for result in done:
        if not result.error:
            out.setdefault(result.slug, []).append(result)
    return out


def public(runs: list[Result], name: str) -> list[float | None]:
    """``name``'s Public score in each run (the pipeline, a candidate or an anchor)."""
    return [next((m.value() for m in r.models + r.candidates if m.name == name), None) for r in runs]


def nested(runs: list[Result], name: str) -> list[float | None]:
    return [next((m.cv for m in r.models + r.candidates if m.name == name), None) for r in runs]


def best_anchor(runs: list[Result]) -> tuple[float, str] | None:
    """The anchor with the best mean Public score over the runs."""
    means = {name: spread(public(runs, name)) for name in ANCHORS}
    means = {name: found[0] for name, found in means.items() if found}
    return max(((v, n) for n, v in means.items()), default=None)


def results_section(done: list[Result], failed: list[Result], pending: list[str], header: str, seeds: list[int],
                    anchors_md: dict[str, tuple[float, str]]) -> str:
    lines = ["## Results", "", header, "",
             f"Mean ± standard deviation over config seeds {', '.join(map(str, seeds))} (each seed its own folds, models",
             "and anchors). Public half of each practice leaderboard, scored after every submission was written;",
             "the pipeline's nested CV (what `make train` reports) beside it. The ANCHORS.md column is the best",
             "anchor of `../shared/competitions/ANCHORS.md`, scored there on the whole test set.", "",
             "| competition | regime | metric | pipeline nested CV | pipeline Public | " + " | ".join(ANCHORS)
             + " | best anchor, this run | best anchor, ANCHORS.md | chosen model (per seed) |",
             "|---|---|---|---|---|" + "---|" * len(ANCHORS) + "---|---|---|"]
    for slug, runs in grouped(done).items():
        best, quoted = best_anchor(runs), anchors_md.get(slug)
        chosen = ", ".join(f"{n} {c}" for n, c in Counter(r.chosen for r in runs).most_common())
        lines.append(f"| {slug} | {runs[0].regime} | {runs[0].metric} | {cell(nested(runs, 'pipeline'))} | "
                     f"{cell(public(runs, 'pipeline'))} | " + " | ".join(cell(public(runs, a)) for a in ANCHORS)
                     + f" | {f'{best[0]:.4f} ({best[1]})' if best else 'n/a'} | "
                     f"{f'{quoted[0]:.4f} ({quoted[1]})' if quoted else 'n/a'} | {chosen} |")
    lines += [f"| {r.slug} | seed {r.seed} failed: {r.error.replace('|', '/')} |" for r in failed]
    lines += [f"| {slug} | not run |" for slug in pending]
    return "\n".join(lines)


def candidates_section(done: list[Result]) -> str:
    lines = ["## Candidates", "",
             "Each candidate submitted on its own from the same fold models (its cut, and the ensemble's weights,",
             "chosen on all out-of-fold scores), mean ± std over the seeds: nested CV (cut and weights chosen",
             "without each fold, as `make train` reports), Public score, and CV − Public. On the weak competitions",
             "the CV counts only the 30 labeled anomalies (6 per fold, the unlabeled ones as normal) while Public",
             "scores every anomaly, so their gap is large by construction; compare candidates within a column.", "",
             "| competition | candidate | nested CV | Public | CV − Public |", "|---|---|---|---|---|"]
    for slug, runs in grouped(done).items():
        names = list(dict.fromkeys(["pipeline"] + [m.name for r in runs for m in r.candidates]))
        for name in names:
            cv, lb = nested(runs, name), public(runs, name)
            gaps = [c - p for c, p in zip(cv, lb) if c is not None and p is not None]
            lines.append(f"| {slug} | {name} | {cell(cv)} | {cell(lb)} | {cell(gaps)} |")
    return "\n".join(lines)


def contributions_section(done: list[Result]) -> str:
    """Per regime, in plain words: what the MemAE views and the DevNet head add over the better booster alone."""
    lines = ["## What the MemAE and the DevNet head add", "",
             "Nested CV, mean ± std over the seeds. `gbm` (XGBoost) and `catboost` are the boosters alone on the",
             "features, and each difference is against the better of the two; `stack` adds the MemAE's latent code",
             "and error as columns; `devnet` is the deviation head (features and MemAE error); `blend` averages the",
             f"ranks of {', '.join(BLEND_PARTS)}; `pipeline` is what the nested selection submits. A difference within",
             "the larger of the two standard deviations is noise. What each part adds to the blend: the candidate",
             "menu ablation's `blend - x` rows.", ""]
    by_regime: dict[str, list[str]] = {}
    for slug, runs in grouped(done).items():
        boosters = {name: found for name in BOOSTERS if (found := spread(nested(runs, name))) is not None}
        if not boosters:
            submitted = runs[0].chosen + (f" ({', '.join(f'{n} {w:.1f}' for n, w in runs[0].weights.items())})"
                                          if runs[0].weights and len(runs[0].weights) > 1 else "")
            by_regime.setdefault(runs[0].regime, []).append(
                f"- {slug}: no labels, no booster; the label-free rule submits {submitted}. Public scores alone: "
                f"the MemAE's error {cell(public(runs, 'memae'))}, IsolationForest {cell(public(runs, 'iforest'))}, "
                f"LOF {cell(public(runs, 'lof'))}; what was submitted {cell(public(runs, 'pipeline'))}.")
            continue
        base = max(boosters.values())
        words = [f"{name} {mean:.4f} ± {std:.4f}" for name, (mean, std) in boosters.items()]
        for name in WITH_MEMAE + ("pipeline",):
            other = spread(nested(runs, name))
            if other is not None:
                words.append(f"{name} {other[0]:.4f} ± {other[1]:.4f} ({verdict(other, base)})")
        by_regime.setdefault(runs[0].regime, []).append(f"- {slug}: " + "; ".join(words) + ".")
    for regime, items in by_regime.items():
        lines += [f"**{regime}**", "", *items, ""]
    return "\n".join(lines).rstrip()


def verdict(mine: tuple[float, float], base: tuple[float, float]) -> str:
    """``mine`` against ``base`` (each mean, std) in plain words: a difference within the larger std is noise.

    On the values as a table shows them (4 decimals), so that the difference is that of the cells.
    """
    (mean, std), (base_mean, base_std) = [(round(a, 4), round(b, 4)) for a, b in (mine, base)]
    diff = mean - base_mean
    words = "adds nothing beyond noise" if abs(diff) <= max(std, base_std) else "adds" if diff > 0 else "costs"
    return f"{diff:+.4f}: {words}"


def done_when_section(done: list[Result], anchors_md: dict[str, tuple[float, str]]) -> str:
    lines = ["## Done when (issue 15)", "",
             "Package defaults, no tuning, choices on nested CV: the pipeline's mean Public score against the best",
             "anchor of this run (mean over the same seeds) and against the best anchor in ANCHORS.md.", "",
             "| competition | pipeline Public | best anchor, this run | result | best anchor, ANCHORS.md | result |",
             "|---|---|---|---|---|---|"]
    for slug, runs in grouped(done).items():
        mine = spread(public(runs, "pipeline"))
        best, quoted = best_anchor(runs), anchors_md.get(slug)
        lines.append(f"| {slug} | {cell(public(runs, 'pipeline'))} | {f'{best[0]:.4f} ({best[1]})' if best else 'n/a'} | "
                     f"{versus(mine, best)} | {f'{quoted[0]:.4f} ({quoted[1]})' if quoted else 'n/a'} | {versus(mine, quoted)} |")
    return "\n".join(lines)


def versus(mine: tuple[float, float] | None, other: tuple[float, str] | None) -> str:
    if mine is None or other is None:
        return "n/a"
    diff = mine[0] - other[0]
    return f"**met** ({diff:+.4f})" if diff >= 0 else f"missed by {-diff:.4f}"
