"""Halves of the fully labeled practice competitions (``python -m memdev.bench --halves``).

A leaderboard made of train.csv alone. Each fully labeled competition's
train.csv is cut in two, stratified by the target (each seed its own cut):
half A plays train.csv, half B test.csv, and half B's labels the solution.
The pipeline, each of its candidates and the anchors then run on it as
``make bench`` runs them on the real competition, and are scored on half B.
No row of test.csv and no solution file is read, so, unlike the Public
half, these scores may choose a default; and half B holds about as many
labeled rows as the whole test set, twice the Public half's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from memdev.bench import competition, variants
from memdev.bench import seeds as bench_seeds
from memdev.bench.render import NOTES
from memdev.bench.results import Result

HEADING = "## Halves of the fully labeled competitions"


def halve(slug: str, source: Path, into: Path, seed: int) -> None:
    """``into/<slug>.zip``, ``.json`` and ``.solution.csv``: train.csv's half A as train.csv, half B as
    test.csv (its labels, all in the Public half, as the solution)."""
    from sklearn.model_selection import train_test_split

    files, page = variants.unpack(slug, source)
    sample = variants.frame(files, "sample_submission.csv", nrows=1)
    ident, target = sample.columns[:2]
    train = variants.frame(files, "train.csv")
    a, b = train_test_split(train, test_size=0.5, stratify=train[target], random_state=seed)
    files["train.csv"] = a.to_csv(index=False).encode()
    files["test.csv"] = b.drop(columns=target).to_csv(index=False).encode()
    files["sample_submission.csv"] = pd.DataFrame({ident: b[ident], target: sample[target].iloc[0]}).to_csv(index=False).encode()
    variants.pack(slug, into, files, page)
    b[[ident, target]].assign(Usage="Public").to_csv(into / f"{slug}.solution.csv", index=False)


def measure(slug: str, source: Path, root: Path, seed: int) -> Result:
    """``slug`` halved by ``seed`` in ``root/source``, then :func:`memdev.bench.competition.run` in
    ``root/project`` (config seed ``seed``); a finished run is read back."""
    project = root / "project"
    if not (project / "result.json").exists():
        shutil.rmtree(root, ignore_errors=True)  # a run cut short
        halve(slug, source, root / "source", seed)
    return competition.run(slug, root / "source", project, seed)


def section(done: list[Result], header: str) -> str:
    """Per competition: each model's score on half B (and the nested CV of the pipeline and its
    candidates), mean ± std over the seeds; then the pipeline against the best anchor, seed by seed."""
    lines = [HEADING, "", header, "",
             "Each fully labeled practice competition's train.csv cut in two, stratified (each seed its own cut):",
             "`make train` and `make submit` on half A, scored on half B, beside each candidate submitted on its",
             "own and the anchors, as `make bench` runs them. Train.csv only, so these scores may choose a default",
             f"(the Public half may not): [{NOTES}]({NOTES}). Mean ± std over the seeds.", "",
             "| competition | model | nested CV (half A) | half B |", "|---|---|---|---|"]
    grouped = bench_seeds.grouped(done)
    for slug, runs in grouped.items():
        names = list(dict.fromkeys(["pipeline"] + [m.name for r in runs for m in r.candidates + r.anchors]))
        for name in names:
            lines.append(f"| {slug} | {name} | {bench_seeds.cell(bench_seeds.nested(runs, name))} | "
                         f"{bench_seeds.cell(bench_seeds.public(runs, name))} |")
    lines += ["", "The pipeline against the anchor with the best mean on half B, the difference taken seed by seed:", "",
              "| competition | pipeline | best anchor | pipeline − anchor | seeds ahead or level |", "|---|---|---|---|---|"]
    for slug, runs in grouped.items():
        best = bench_seeds.best_anchor(runs)
        if best is None:
            continue
        diffs = [mine - theirs for mine, theirs in zip(bench_seeds.public(runs, "pipeline"), bench_seeds.public(runs, best[1]))
                 if mine is not None and theirs is not None]
        lines.append(f"| {slug} | {bench_seeds.cell(bench_seeds.public(runs, 'pipeline'))} | {best[0]:.4f} ({best[1]}) | "
                     f"{bench_seeds.cell(diffs)} | {int(np.sum(np.array(diffs) >= 0))} of {len(diffs)} |")
    lines += [f"| {r.slug} | seed {r.seed} failed: {r.error.replace('|', '/')} |" for r in done if r.error]
    return "\n".join(lines)
