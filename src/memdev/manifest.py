"""The sha256 of every artifact the pipeline wrote, checked before loading.

Pickled artifacts can run code when loaded, so nothing is unpickled unless
its bytes are the ones this pipeline wrote; ``.keras`` models and the feature
matrices are checked the same way. The manifest sits beside the files it
checks: it catches stale or corrupted files, not deliberate tampering.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from memdev import atomic
from memdev.errors import MemdevError
from memdev.paths import Paths


def _read(paths: Paths) -> dict[str, str]:
    if not paths.manifest.exists():
        return {}
    return json.loads(paths.manifest.read_text(encoding="utf-8"))


def _key(paths: Paths, path: Path) -> str:
    return str(Path(path).relative_to(paths.comp))


def record(paths: Paths, files: list[Path], staged: dict[Path, Path] | None = None) -> None:
    """Record the sha256 of ``files``; ``staged`` maps any not yet renamed into place to their temporary."""
    staged = staged or {}
    entries = _read(paths)
    for path in files:
        entries[_key(paths, path)] = atomic.sha256(staged.get(path, path))
    atomic.write_text(paths.manifest, json.dumps(entries, indent=1, sort_keys=True))


def digest(paths: Paths, path: Path) -> str:
    return _read(paths).get(_key(paths, path), "")


def verify(paths: Paths, files: list[Path]) -> None:
    entries = _read(paths)
    for path in files:
        if not Path(path).exists():
            raise MemdevError(f"{path}: missing; run the stage that makes it (see `make help`)")
        expected = entries.get(_key(paths, path))
        if expected != atomic.sha256(path):
            raise MemdevError(
                f"{path}: its sha256 is not the one memdev recorded in {paths.manifest}; "
                f"refusing to load it (re-run the stage that writes it)"
            )


def load_pickle(paths: Paths, path: Path):
    verify(paths, [path])
    return pickle.loads(Path(path).read_bytes())
