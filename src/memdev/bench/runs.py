"""Timed ``make`` runs in fresh project roots outside the repository, as a user runs them.

A project root gets the repository's ``Makefile`` and ``.venv`` linked in, the
competition unpacked by ``make data`` and its config set from the evaluation
page (``<slug>.json``); then each :func:`make` is timed with the peak memory of
its process tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from memdev import atomic
from memdev.paths import Paths

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Stage:
    """One timed ``make`` run: wall seconds, peak RSS of its process tree, last stdout line."""

    seconds: float
    peak_mib: float
    last_line: str


# Runs a command, then writes the peak RSS (KiB) of its process tree. A child
# forked from the bench itself would be charged with the bench's own memory
# (the kernel carries the forking process's high-water mark through exec);
# children of this small process are not.
PEAK = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[2:]); "
        "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(code)")


def make(root: Path, target: str, slug: str, *extra: str, log: str | None = None, env: dict | None = None) -> Stage:
    """``make TARGET COMP=slug`` in ``root``; output goes to ``root/<log>.log`` (stderr: ``.err``).

    ``log`` defaults to the target; concurrent runs of one target need their
    own. ``env``: variables to add to the environment (e.g. ``PYTHONPATH``).

    ``READY=`` tells make the virtual environment is already there (``root/.venv``
    is the repository's), so it never reinstalls it.
    """
    argv = ["make", "--no-print-directory", "READY=", target, f"COMP={slug}", *extra]
    print(f"  $ {' '.join(argv)}", flush=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **(env or {}))
    out, err, peak = (root / f"{log or target}.{suffix}" for suffix in ("log", "err", "peak"))
    with open(out, "w") as stdout, open(err, "w") as stderr:
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-c", PEAK, str(peak), *argv], cwd=root, env=env, stdout=stdout, stderr=stderr)
        seconds = time.perf_counter() - started
    if code:
        problem = [line for line in err.read_text().splitlines() if line.strip()][-3:]
        raise RuntimeError(f"make {target} failed (exit {code}): {' / '.join(problem)}")
    lines = [line for line in out.read_text().splitlines() if line.strip()]
    stage = Stage(seconds, int(peak.read_text()) / 1024, lines[-1] if lines else "")
    print(f"    {stage.seconds:.1f}s, peak {stage.peak_mib:.0f} MiB", flush=True)
    return stage


def prepare(slug: str, source: Path | None, root: Path, code: Path = REPO, env: dict | None = None) -> list[str]:
    """A fresh project root with the competition unpacked and its config set from the evaluation page.

    ``code``: the checkout whose Makefile runs there (the virtual environment
    is always this repository's); ``env`` as :func:`make`'s. Without
    ``source`` (the demo) ``make data`` writes the competition and its
    config stays as detected. Returns the config edits that changed a
    value, e.g. ``["metric average_precision -> roc_auc"]``.
    """
    root.mkdir(parents=True)
    (root / "Makefile").symlink_to(code / "Makefile")
    (root / ".venv").symlink_to(REPO / ".venv")
    if source is None:
        make(root, "data", slug, env=env)
        return []
    make(root, "data", slug, f"ZIP={source / f'{slug}.zip'}", env=env)
    page = json.loads((source / f"{slug}.json").read_text(encoding="utf-8"))
    wanted = {"metric": page["metric"], "regime": page["regime"].split("-")[0]}  # weak-30 -> weak
    return edit_config(Paths(slug, root).config, wanted)


def edit_config(path: Path, edits: dict[str, object]) -> list[str]:
    """Set ``{dotted key: value}`` in the config file at ``path``; return the edits that changed a value."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    changed = []
    for dotted, value in edits.items():
        *sections, key = dotted.split(".")
        parent = raw
        for section in sections:
            parent = parent.setdefault(section, {})
        if parent.get(key) != value:
            changed.append(f"{dotted} {parent.get(key)} -> {value}")
        parent[key] = value
    atomic.write_text(path, yaml.safe_dump(raw, sort_keys=False))
    return changed
