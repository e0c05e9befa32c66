"""The leaderboard page: ``leaderboard.md`` and ``cv_vs_lb.png`` under ``data/<slug>/reports/``.

Reads the competition's rows of ``submissions/ledger.csv``; measures how the
CV values agree with the public scores; picks the two final submissions; and
writes the page with the submissions table and the CV-against-public scatter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from memdev.config import Config
from memdev.paths import Paths
from memdev.reporting import plots
from memdev.reporting.plots import COLORS
from memdev.submission import ledger

# within this distance of the best public score a submission counts as "on top of the LB"
PUBLIC_WINDOW = 0.005
FIGURE = "cv_vs_lb.png"
TITLE = "CV against public leaderboard score"


def run(config: Config, paths: Paths) -> list[Path]:
    """Write ``leaderboard.md`` (and the scatter when a submission has a public score); return the paths written."""
    standing = measure(config, paths)
    written: list[Path] = []
    if len(standing.both):
        _scatter(standing, config.metric, paths.reports / FIGURE, written)
    plots.write("report", paths.reports / "leaderboard.md", page(config, paths, standing), written)
    plots.remove_stale("report", paths.reports, (FIGURE,), written)
    return written


# ---------------------------------------------------------------- what the ledger says


def submissions(paths: Paths) -> pd.DataFrame:
    """This competition's ledger rows, numbered from 1, with ``cv``, ``public`` and ``private`` as floats."""
    frame = ledger.read(paths.ledger)
    frame = frame[frame["competition"] == paths.slug].reset_index(drop=True)
    frame.index = frame.index + 1
    for column, source in (("cv", "cv_value"), ("public", "public_score"), ("private", "private_score")):
        frame[column] = pd.to_numeric(frame[source], errors="coerce")
    return frame


@dataclass
class Standing:
    """The competition's submissions, how their CV agrees with the public score, and the two final picks."""

    frame: pd.DataFrame  # every submission of the competition
    comparable: pd.DataFrame  # those measured in the config's metric (all of them when the ledger has one)
    metrics_seen: list[str]  # the CV metrics the ledger holds
    both: pd.DataFrame  # comparable submissions with a CV value and a public score
    r: float | None  # Pearson correlation of CV and public score over ``both``
    first: int | None  # row labels of ``frame``: the final selections
    second: int | None
    note: str  # why the second pick is what it is (empty when the rules agree)


def measure(config: Config, paths: Paths) -> Standing:
    """The competition's standing; only submissions measured in the config's metric are compared."""
    frame = submissions(paths)
    seen = sorted({m for m in frame["cv_metric"] if m})
    comparable = frame
    if len(seen) > 1 and config.metric in seen:
        comparable = frame[frame["cv_metric"].isin([config.metric, ""])]
    both = comparable[comparable["cv"].notna() & comparable["public"].notna()]
    r = pearson(both["cv"].to_numpy(float), both["public"].to_numpy(float))
    first, second, note = finals(comparable)
    return Standing(frame, comparable, seen, both, r, first, second, note)


def finals(frame: pd.DataFrame, window: float = PUBLIC_WINDOW) -> tuple[int | None, int | None, str]:
    """The two final selections (row labels of ``frame``) and a note on the second.

    1. the best CV (ties: the better public score, then the later submission);
    2. the best CV among submissions whose public score is within ``window``
       of the best public score. When that is the same submission (or one
       with the same bytes) as the first, the second slot goes to the next
       best CV in the window, else to the next best CV overall, so the two
       final submissions are never the same file.
    """
    ranked = frame[frame["cv"].notna()].copy()
    if ranked.empty:
        return None, None, "no submission has a CV value"
    ranked["_order"] = range(len(ranked))
    ranked = ranked.sort_values(["cv", "public", "_order"], ascending=[False, False, False], na_position="last")
    first = ranked.index[0]
    if not ranked["public"].notna().any():
        return first, None, "no public scores yet: record scores with `make lb`"
    best_public = float(ranked["public"].max())
    near = ranked[ranked["public"] >= best_public - window - 1e-12]
    second = near.index[0]
    if second != first and not _same_file(frame, first, second):
        return first, second, ""
    distinct = [i for i in ranked.index if i != first and not _same_file(frame, first, i)]
    in_window = [i for i in distinct if i in near.index]
    if in_window:
        return first, in_window[0], ("both rules pick the same submission, so the second slot takes the next "
                                     "best CV within the public window")
    if distinct:
        return first, distinct[0], ("both rules pick the same submission and no other lies within the public "
                                    "window, so the second slot takes the next best CV")
    return first, None, "both rules pick the same submission and there is no other distinct one"


def _same_file(frame: pd.DataFrame, a, b) -> bool:
    sha_a, sha_b = frame.at[a, "sha256"], frame.at[b, "sha256"]
    return bool(sha_a) and sha_a == sha_b


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """The correlation of ``x`` and ``y``; None for fewer than 3 pairs or when either is constant."""
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


# ---------------------------------------------------------------- the page


def page(config: Config, paths: Paths, standing: Standing) -> str:
    """``leaderboard.md``: the submissions table, CV against public score, and the final selections."""
    lines = [f"# Leaderboard: {paths.slug}", ""]
    frame = standing.frame
    if frame.empty:
        lines += [f"No submissions of `{paths.slug}` in `{paths.ledger}` yet: `make submit COMP={paths.slug}` "
                  "adds one; then record scores with `make lb`.", ""]
        return "\n".join(lines)
    if len(standing.metrics_seen) > 1 and config.metric in standing.metrics_seen:
        lines += [f"The ledger holds CV values in {', '.join(standing.metrics_seen)}; the correlation and the "
                  f"selections use only the {len(standing.comparable)} submissions measured in `{config.metric}`, "
                  "the config's metric.", ""]
    lines += [f"{len(frame)} submissions recorded in `{paths.ledger}`, {int(frame['public'].notna().sum())} with a "
              "public score.", ""]
    lines += _table(frame)
    lines += ["", "## CV against the public leaderboard", ""]
    lines += _agreement(standing)
    if len(standing.both):
        lines += [f"![CV against public score]({FIGURE})", ""]
    lines += ["## Final selections", "",
              "Two final submissions, the way experienced Kagglers pick them: one that trusts CV, and one that "
              f"trusts CV among those on top of the public leaderboard (public score within {PUBLIC_WINDOW} of the "
              "best).", ""]
    lines += _selections(standing)
    return "\n".join(lines)


def _table(frame: pd.DataFrame) -> list[str]:
    has_private = frame["private"].notna().any()
    lines = ["| # | time | file | model | CV | uploaded | public" + (" | private |" if has_private else " |"),
             "|---:|---|---|---|---:|---|---:|" + ("---:|" if has_private else "")]
    for i, row in frame.iterrows():
        cv_cell = f"{row['cv_metric']} {plots.number(row['cv'])}" if pd.notna(row["cv"]) else "no CV"
        cells = [str(i), row["time"], f"`{Path(row['file']).name}`", row["model"], cv_cell, row["uploaded"] or "no",
                 plots.number(row["public"])]
        if has_private:
            cells.append(plots.number(row["private"]))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _agreement(standing: Standing) -> list[str]:
    both, r = standing.both, standing.r
    if len(both) < 3:
        with_public = standing.frame["public"].notna().any()
        lines = [f"Correlation needs at least 3 submissions with both a CV value and a public score; "
                 f"there are {len(both)}." + ("" if with_public else " Record public scores with `make lb`.")]
    elif r is None:
        lines = [f"Pearson correlation undefined over {len(both)} submissions: the CV or the public scores do not "
                 "vary."]
    else:
        lines = [f"Pearson correlation of CV and public score: **r = {r:.3f}** over {len(both)} submissions"
                 + (": CV tracks the public leaderboard" if r >= 0.5 else
                    ": CV and the public leaderboard disagree (a small or shifted public split); weigh CV more")
                 + ("; with this few submissions, a rough guide only." if len(both) < 10 else ".")]
    if len(both):
        gap = both["public"] - both["cv"]
        lines.append(f"Public score below CV for {int((gap < 0).sum())} of {len(both)} submissions; "
                     f"mean public - CV = {gap.mean():+.4f}.")
    return lines + [""]


def _selections(standing: Standing) -> list[str]:
    frame, first, second, note = standing.frame, standing.first, standing.second, standing.note
    if first is None:
        return [f"None yet: {note}.", ""]
    lines = [f"1. **Best CV**: {_describe(frame, first)}"]
    if second is None:
        lines.append(f"2. **Best CV near the top of the public LB**: none yet; {note}.")
    else:
        lines.append(f"2. **Best CV near the top of the public LB** "
                     f"(best public {standing.comparable['public'].max():.4f}): {_describe(frame, second)}"
                     + (f"  \n   ({note}.)" if note else ""))
    return lines + [""]


def _describe(frame: pd.DataFrame, i) -> str:
    row = frame.loc[i]
    public = f", public {row['public']:.4f}" if pd.notna(row["public"]) else ", no public score"
    # Kaggle lets only uploaded submissions be selected; a public score recorded by hand means it was uploaded
    away = "" if row["uploaded"] == "yes" or pd.notna(row["public"]) else (
        f"; {'its upload failed' if row['uploaded'] == 'failed' else 'not uploaded'}: upload it to select it")
    return f"#{i} `{row['file']}` ({row['model']}, CV {row['cv_metric']} {row['cv']:.4f}{public}{away})"


# ---------------------------------------------------------------- the figure


def _scatter(standing: Standing, metric: str, path: Path, written: list[Path]) -> None:
    """CV against public score of the comparable submissions; the picks marked (pick 1 as a vertical line
    when it has no public score yet)."""
    both, first, second, r = standing.both, standing.first, standing.second, standing.r
    title = TITLE + (f": Pearson r = {r:.3f}" if r is not None else "")
    figure, axes = plots.figure(title, f"CV {metric} (out of fold)", "public leaderboard score")
    axes.scatter(both["cv"], both["public"], s=45, color=COLORS["normal"], alpha=0.8, zorder=3,
                 label=f"submissions ({len(both)})")
    for i, row in both.iterrows():
        axes.annotate(f"#{i}", (row["cv"], row["public"]), textcoords="offset points", xytext=(6, 4), fontsize="small")
    for pick, marker, color, label in ((first, "*", "tab:orange", "pick 1: best CV"),
                                       (second, "D", "tab:green", "pick 2: best CV near the top of public")):
        if pick is not None and pick in both.index:
            axes.scatter([both.at[pick, "cv"]], [both.at[pick, "public"]], s=220 if marker == "*" else 110,
                         marker=marker, facecolor="none", edgecolor=color, lw=2, zorder=4, label=f"{label} (#{pick})")
    xs = list(both["cv"])
    if first is not None and first not in both.index:
        xs.append(float(standing.comparable.at[first, "cv"]))
        axes.axvline(xs[-1], color="tab:orange", ls=":", lw=2,
                     label=f"pick 1: best CV (#{first}, no public score yet)")
    pad_x = max(0.05 * (max(xs) - min(xs)), 0.002)
    pad_y = max(0.08 * float(both["public"].max() - both["public"].min()), 0.002)
    x_lo, x_hi = min(xs) - pad_x, max(xs) + pad_x
    y_lo, y_hi = float(both["public"].min()) - pad_y, float(both["public"].max()) + pad_y
    lo, hi = max(x_lo, y_lo), min(x_hi, y_hi)
    if lo < hi:  # the diagonal only where it crosses the view
        axes.plot([lo, hi], [lo, hi], color=COLORS["chance"], ls="--", lw=1, label="public = CV")
    axes.set_xlim(x_lo, x_hi)
    axes.set_ylim(y_lo, y_hi)
    plots.legend(axes)
    plots.save("report", path, figure, written)
