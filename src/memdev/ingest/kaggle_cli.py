"""The official kaggle CLI, called as a subprocess: download, submit, list submissions.

Credentials are the CLI's business: memdev only checks they exist (and are
not readable by others), and never prints, logs or stores them.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from memdev.errors import MemdevError


def installed() -> bool:
    return shutil.which("kaggle") is not None


def executable() -> str:
    exe = shutil.which("kaggle")
    if exe is None:
        raise MemdevError(
            "the kaggle CLI is not installed: run `.venv/bin/pip install kaggle` "
            "(or download the competition's zip yourself and pass ZIP=path.zip)"
        )
    return exe


def check_credentials() -> None:
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY") or os.environ.get("KAGGLE_API_TOKEN"):
        return
    home = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle"))
    for name in ("kaggle.json", "access_token"):
        path = home / name
        if path.exists():
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise MemdevError(f"{path} can be read by other users; run `chmod 600 {path}`")
            return
    raise MemdevError(
        "no Kaggle credentials: create an API token on kaggle.com (Settings > API) and save it as "
        "~/.kaggle/kaggle.json with `chmod 600`, or set KAGGLE_USERNAME and KAGGLE_KEY"
    )


def call(*args: str) -> str:
    """Run ``kaggle ARGS`` and return its standard output; one clear error if it fails."""
    exe = executable()
    check_credentials()
    result = subprocess.run([exe, *args], capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise MemdevError(f"`kaggle {' '.join(args[:2])}` failed: {lines[-1] if lines else 'no output'}")
    return result.stdout


def download(slug: str, folder: Path) -> list[Path]:
    call("competitions", "download", slug, "-p", str(folder))
    return sorted(folder.iterdir())


def submit(slug: str, file: Path, message: str) -> None:
    call("competitions", "submit", slug, "-f", str(file), "-m", message)


def submissions(slug: str) -> str:
    """The CLI's CSV listing of this user's submissions to ``slug``."""
    return call("competitions", "submissions", slug, "--csv")
