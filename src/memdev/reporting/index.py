"""The report stage: every page under ``data/<slug>/reports/``, and ``index.md`` linking them.

``run`` writes the main report (:mod:`memdev.reporting.report`), the
leaderboard page (:mod:`memdev.reporting.leaderboard_page`) and, when asked,
every study (:mod:`memdev.reporting.studies`); then the index, which links
every page and figure there is, the Optuna plots of ``make tune`` included,
and says which study pages are missing or older than the current models.
"""

from __future__ import annotations

import logging
from pathlib import Path

from memdev.config import Config
from memdev.paths import Paths
from memdev.reporting import leaderboard_page, plots, report
from memdev.reporting.studies import compare, groups, outliers, scorers

log = logging.getLogger(__name__)

TUNE_PLOTS = {
    "tune_history.png": "Optuna optimization history",
    "tune_importances.png": "Optuna parameter importances",
    "tune_slice_memory_size.png": "Optuna slice plot of the memory size",
}
STUDIES = (compare, outliers, scorers, groups)


def run(config: Config, paths: Paths, studies: bool = False) -> Path:
    """Write every report page and figure of ``paths.slug`` (every study too with ``studies``); return index.md."""
    if studies:
        run_studies(config, paths)
    written = report.run(config, paths) + leaderboard_page.run(config, paths)
    index = paths.reports / "index.md"
    plots.write("report", index, page(config, paths, written), written)
    return index


def run_studies(config: Config, paths: Paths) -> list[Path]:
    """Every study, as ``make report`` runs them; ``groups`` only when the config names a group column."""
    written = compare.run(config, paths) + outliers.run(config, paths) + scorers.run(config, paths)
    if config.group_column:
        return written + groups.run(config, paths)
    log.info(f"groups: skipped (no group_column in {paths.config})")
    plots.remove_stale("groups", paths.reports, groups.OUTPUTS, written)
    return written


def page(config: Config, paths: Paths, written: list[Path]) -> str:
    """``index.md``: the main report and the leaderboard with the figures this run drew, the studies, Optuna."""
    made = {p.name for p in written}
    lines = [f"# memdev reports: {paths.slug}", ""]
    lines.append("- [Main report](report.md): out-of-fold metrics beside the base rate, candidates, figures")
    lines += [f"  - [{title}]({name})" for name, title in report.FIGURES.items() if name in made]
    lines.append("- [Leaderboard](leaderboard.md): submissions, CV against public score, final selections")
    if leaderboard_page.FIGURE in made:
        lines.append(f"  - [{leaderboard_page.TITLE}]({leaderboard_page.FIGURE})")
    lines += _studies(config, paths)
    tuned = [name for name in TUNE_PLOTS if (paths.reports / name).exists()]
    if tuned:
        lines.append("- Optuna tuning (`make tune`):")
        lines += [f"  - [{TUNE_PLOTS[name]}]({name})" for name in tuned]
    else:
        lines.append(f"- Optuna tuning: no plots yet (`make tune COMP={paths.slug}` draws them)")
    return "\n".join(lines) + "\n"


def _studies(config: Config, paths: Paths) -> list[str]:
    """A line per study page (with its figures), or why it is missing."""
    out = paths.reports
    # a study page older than the CV results describes an older model: say so rather than hide it
    trained = paths.cv.stat().st_mtime if paths.cv.exists() else 0.0
    lines = []
    for study in STUDIES:
        if study is groups and not config.group_column:
            lines.append(f"- {study.TITLE}: set `group_column` in {paths.config} to name a column of train.csv")
            continue
        if not (out / study.PAGE).exists():
            lines.append(f"- {study.TITLE}: not run yet (`make report COMP={paths.slug}` runs every study)")
            continue
        stale = (out / study.PAGE).stat().st_mtime < trained
        lines.append(f"- [{study.TITLE}]({study.PAGE})"
                     + (" (older than the current models: rerun `make report`)" if stale else ""))
        lines += [f"  - [{title}]({name})" for name, title in study.FIGURES.items() if (out / name).exists()]
    return lines
