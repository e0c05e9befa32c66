"""``make status``: where a competition stands, on one screen.

The data; whether each stage is up to date or stale, and why; the chosen
model and its CV; the study; the last submissions; and the command to run
next. A stage is stale when ``make`` would re-run it (a file it reads is
newer than the file it writes, or a stage before it is stale) and when the
digests its stamp recorded (``pretrain.json``, ``cv.json``) no longer match
the config and features: the second says whether a re-run would change
anything. Reads everything, writes nothing, and never needs TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import optuna
import pandas as pd

from memdev import config as config_io
from memdev import manifest
from memdev.config import Config
from memdev.errors import MemdevError
from memdev.paths import TABLES, Paths
from memdev.submission import ledger
from memdev.training.summary import CVSummary
from memdev.tuning import studies

LAST_SUBMISSIONS = 3
WHAT = {  # a stamp's keys, as a reason to re-run
    "config": "settings differ", "features": "training features differ", "x_train": "training features differ",
    "x_test": "test features differ", "transformer": "feature transformer differs",
}


@dataclass
class Stage:
    """One stage of ``make train`` as ``make`` and its stamp see it."""

    name: str
    output: Path
    reasons: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        if not self.output.exists():
            return "not run"
        return "stale" if self.reasons else "up to date"


def run(paths: Paths, storage_url: str | None = None) -> str:
    """The status screen of competition ``paths.slug``."""
    lines = [f"memdev status: {paths.slug} ({paths.comp})"]
    missing = [paths.table(name).name for name in TABLES if not paths.table(name).exists()]
    if missing or not paths.config.exists():
        absent = ", ".join(missing + ([paths.config.name] if not paths.config.exists() else []))
        lines += [row("data", f"not here yet (no {absent})"), row("next", f"make data COMP={paths.slug}")]
        return "\n".join(lines)
    try:
        config = config_io.load(paths.config, paths.best_params)
    except MemdevError as exc:
        lines += [row("config", f"cannot be read: {exc}"), row("next", f"fix {paths.config}")]
        return "\n".join(lines)
    train = stages(paths, config)
    lines.append(row("data", data(paths, config)))
    lines += [row(s.name, f"{s.state:<11}{when(s.output)}  " + "; ".join(s.reasons)).rstrip() for s in train]
    lines += model(paths)
    tuning = tunable(paths, config)
    lines += study(paths, config, storage_url, tuning)
    submitted = ledger.read(paths.ledger)
    submitted = submitted[submitted["competition"] == paths.slug].sort_values("time")
    lines += submissions(paths, submitted)
    lines.append(row("next", next_step(paths, train, submitted, tuning)))
    return "\n".join(lines)


def row(label: str, text: str) -> str:
    return f"{label:<12}{text}"


def when(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M") if path.exists() else ""


def data(paths: Paths, config: Config) -> str:
    """Rows (once preprocessed; else the files' sizes), regime, metric, submission kind."""
    kind = f"regime {config.regime}, metric {config.metric}, {config.submission} submission"
    info = json.loads(paths.features_info.read_text()) if paths.features_info.exists() else None
    if info:
        anomalies = f" ({info['labeled_anomalies']:,} labeled anomalies)" if config.labeled else ""
        return (f"train {info['train_rows']:,} rows{anomalies}, test {info['test_rows']:,} rows, "
                f"{info['features']} features; {kind}")
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MiB" for p in map(paths.table, TABLES))
    return f"{sizes}; {kind}"


def stages(paths: Paths, config: Config) -> list[Stage]:
    """preprocess, pretrain and finetune: the Makefile's prerequisites, then the digests each stamp recorded."""
    tuned = [paths.best_params] if paths.best_params.exists() else []
    plan = [
        Stage("preprocess", paths.x_train), Stage("pretrain", paths.pretrained), Stage("finetune", paths.cv),
    ]
    inputs = {
        "preprocess": [paths.table(name) for name in TABLES] + [paths.config],
        "pretrain": [paths.x_train, paths.config] + tuned,
        "finetune": [paths.pretrained, paths.config] + tuned,
    }
    recorded = {"pretrain": _json(paths.pretrained), "finetune": _cv_stamp(paths)}
    now = {"config": config.digest(), "features": manifest.digest(paths, paths.x_train),
           "x_train": manifest.digest(paths, paths.x_train), "x_test": manifest.digest(paths, paths.x_test),
           "transformer": manifest.digest(paths, paths.transformer)}
    before = None
    for stage in plan:
        if stage.output.exists():
            if before is not None and before.state != "up to date":
                stage.reasons.append(f"{before.name} is {before.state}")
            made = stage.output.stat().st_mtime
            newer = [p.name for p in inputs[stage.name] if p.exists() and p.stat().st_mtime > made]
            stamp = recorded.get(stage.name, {})
            differ = [key for key, value in stamp.items() if key in now and value != now[key]]
            if newer:
                # an edit that changed no setting (a comment, a re-tune to the same winner): make re-runs, in vain
                edited = {paths.config.name, paths.best_params.name} & set(newer)
                same = bool(edited) and "config" in stamp and "config" not in differ
                stage.reasons.append(f"{', '.join(newer)} {'is' if len(newer) == 1 else 'are'} newer"
                                     + (" (same settings)" if same else ""))
            stage.reasons += sorted({WHAT[key] for key in differ})
        before = stage
    return plan


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except json.JSONDecodeError:
        return {}


def _cv_stamp(paths: Paths) -> dict:
    try:
        return CVSummary.load(paths).stamp if paths.cv.exists() else {}
    except MemdevError:
        return {}


def model(paths: Paths) -> list[str]:
    """The chosen candidate, its CV, the threshold, and every candidate's CV."""
    if not paths.cv.exists():
        return [row("model", f"not trained yet (make train COMP={paths.slug})")]
    try:
        cv = CVSummary.load(paths)
    except MemdevError as exc:
        return [row("model", str(exc))]
    cut = f"threshold {cv.threshold.strategy} calls {cv.threshold.rate:.2%} of training rows anomalous"
    if cv.value is None:
        return [row("model", f"{cv.model}: no labels, no CV; {cut}")]
    folds = [v for v in cv.per_fold if v is not None]
    spread = f" (folds {min(folds):.4f} to {max(folds):.4f})" if folds else ""
    lines = [row("model", f"{cv.model}: CV {cv.metric} {cv.value:.4f}{spread}; {cut}")]
    if len(cv.candidates) > 1:
        lines.append(row("", "candidates: " + ", ".join(f"{k} {v:.4f}" for k, v in cv.candidates.items())))
    return lines


def tunable(paths: Paths, config: Config) -> bool:
    """Whether ``make tune`` runs trials here: a fully labeled regime whose trained CV (if trained) counted at
    least 2 labeled anomalies (the reasons :func:`memdev.tuning.tune.untunable` gives, read from ``cv.json``)."""
    if config.regime != "full":
        return False
    try:
        return not paths.cv.exists() or CVSummary.load(paths).labeled
    except MemdevError:  # `make train` rewrites it; the model line says what is wrong
        return True


def study(paths: Paths, config: Config, storage_url: str | None = None, tuning: bool = True) -> list[str]:
    """The current study: trials by state, the best trial, and whether best_params.yaml holds it (``tuning``:
    whether ``make tune`` would run trials here)."""
    try:
        storage = studies.open_storage(paths, storage_url)
        found = studies.find(paths, storage) if storage is not None else []
    except MemdevError as exc:  # the rest of the screen still helps
        return [row("study", str(exc))]
    if not found:
        return [row("study", f"none yet (make tune COMP={paths.slug})" if tuning else
                    "none (make tune runs no trial with a few labeled anomalies or none)")]
    current = found[0]
    states = optuna.trial.TrialState
    counts = ", ".join(f"{n} {name}" for name, state in (("complete", states.COMPLETE), ("pruned", states.PRUNED),
                                                          ("failed", states.FAIL), ("running", states.RUNNING))
                       if (n := current.count(state)))
    text = f"{current.name}: {len(current.trials)} trials" + (f" ({counts})" if counts else "")
    best = current.best
    if best is not None:
        text += f", best {config.metric} {best.value:.4f} at trial #{best.number}"
    tuned = config_io.load_tuned(paths.best_params)
    if not tuned:
        note = "no best_params.yaml: training uses the config's own values"
    elif tuned.get("study") != current.name or best is None:
        note = f"best_params.yaml: trial #{tuned.get('trial')} of {tuned.get('study')}"
    elif tuned.get("trial") == best.number:
        note = "best_params.yaml holds that trial: training uses it"
    elif tuned.get("why"):
        note = f"best_params.yaml holds {tuned['why']}"
    else:
        note = (f"best_params.yaml holds trial #{tuned.get('trial')}, not the best "
                f"(make tune COMP={paths.slug} TRIALS=0 takes it)")
    others = f"; {len(found) - 1} older studies (make dashboard shows all)" if len(found) > 1 else ""
    return [row("study", text), row("", note + others)]


def submissions(paths: Paths, frame: pd.DataFrame) -> list[str]:
    """The last few of this competition's ledger rows ``frame``: time, model, CV, public score, file."""
    if frame.empty:
        return [row("submitted", "nothing yet")]
    lines = [row("submitted", f"{len(frame)} in {paths.ledger}" + (", the last:" if len(frame) > 1 else ":"))]
    for _, entry in frame.tail(LAST_SUBMISSIONS).iterrows():
        public = entry["public_score"] or ("-" if entry["uploaded"] == "yes" else f"- ({_uploaded(entry['uploaded'])})")
        cv = f"CV {entry['cv_metric']} {float(entry['cv_value']):.4f}" if entry["cv_value"] else "no CV"
        lines.append(row("", f"{entry['time'][:16].replace('T', ' ')}  {entry['model']:<7} {cv}  public {public}  "
                             f"{Path(entry['file']).name}"))
    return lines


def _uploaded(state: str) -> str:
    return {"no": "not uploaded", "failed": "upload failed"}.get(state, state)


def next_step(paths: Paths, train: list[Stage], submitted: pd.DataFrame, tunable: bool = True) -> str:
    """The one command that moves the competition forward (``make tune`` only where ``tunable``: with a few
    labels or none it runs no trial)."""
    if any(stage.state != "up to date" for stage in train):
        return f"make train COMP={paths.slug}"
    if submitted.empty or paths.cv.stat().st_mtime > datetime.fromisoformat(submitted["time"].iloc[-1]).timestamp():
        return f"make submit COMP={paths.slug}"
    tune = f"make tune COMP={paths.slug} searches further, " if tunable else ""
    return f"nothing to re-run; {tune}make lb COMP={paths.slug} fetches scores"
