"""Where ``make train``'s time goes: cProfile of the memdev commands it runs, before and after (``--speed``).

``make -n -B train`` lists the commands without running them; each training
stage among them runs again in the project root under cProfile, in its own
process as make runs it, after the timed run (so the profile never slows what
is timed). Profiling slows Python-heavy code more than arithmetic: the seconds
are larger than the timed ones, and the shares are what to read.
"""

from __future__ import annotations

import os
import pstats
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

STAGES = ("preprocess", "pretrain", "finetune", "fit")  # `make train`'s stages, whichever the commit has
OWN, HOT = 12, 6  # the profile's lines: memdev's functions by cumulative time, any function by its own time

# `python -m memdev` leaves by os._exit (cProfile would never write): call the CLI's main in the process
WRAPPER = ("import cProfile, sys; from memdev import cli; profile = cProfile.Profile(); code = profile.runcall("
           "cli.main, sys.argv[2:]); profile.dump_stats(sys.argv[1]); sys.exit(code)")


@dataclass
class Line:
    cumulative: float
    own: float
    calls: int
    function: str


@dataclass
class Profile:
    seconds: float  # profiled wall seconds of all the stages
    own: list[Line] = field(default_factory=list)  # memdev's functions, by cumulative time
    hot: list[Line] = field(default_factory=list)  # any function, by the time spent in it alone


def commands(root: Path, slug: str, env: dict | None = None) -> list[list[str]]:
    """The memdev arguments of each training stage that ``make train`` runs in ``root`` (none is run)."""
    listing = subprocess.run(["make", "--no-print-directory", "-n", "-B", "READY=", "train", f"COMP={slug}"],
                             cwd=root, env=dict(os.environ, **(env or {})), capture_output=True, text=True, check=True)
    found = []
    for line in listing.stdout.splitlines():
        words = shlex.split(line)
        if "-m" in words[:-1] and words[words.index("-m") + 1] == "memdev":
            argv = [w for w in words[words.index("-m") + 2:] if w != "--verbose"]
            if argv and argv[0] in STAGES:
                found.append(argv)
    return found


def measure(root: Path, slug: str, env: dict | None = None) -> Profile:
    """Each training stage of ``make train`` in ``root`` again, under cProfile; their merged top lines."""
    files = []
    for number, argv in enumerate(commands(root, slug, env)):
        out = root / f"profile-{number}-{argv[0]}.prof"
        subprocess.run([sys.executable, "-c", WRAPPER, str(out), *argv], cwd=root, check=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        files.append(str(out))
    if not files:
        raise RuntimeError(f"`make -n -B train` in {root} lists no training stage to profile")
    return top(pstats.Stats(*files))


def top(stats: pstats.Stats) -> Profile:
    """The top lines of ``stats``: memdev's own functions by cumulative time, and the hottest functions."""
    lines = [Line(cumulative, own, calls, label(key)) for key, (_, calls, own, cumulative, _) in stats.stats.items()]
    ours = [line for line in lines if line.function.startswith("memdev/")]
    return Profile(stats.total_tt, sorted(ours, key=lambda line: -line.cumulative)[:OWN],
                   sorted(lines, key=lambda line: -line.own)[:HOT])


def label(key: tuple[str, int, str]) -> str:
    """``memdev/training/fit.py:40(run)``; another package's file by its last two parts; a built-in by its name."""
    path, line, name = key
    if path == "~":
        return name
    parts = Path(path).parts
    if "memdev" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("memdev"):]) + f":{line}({name})"
    return "/".join(parts[-2:]) + f":{line}({name})"
