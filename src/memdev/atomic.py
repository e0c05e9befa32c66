"""Write-then-rename helpers: a crash never leaves a half-written file.

Also what lets several processes share a file: a lock around a
read-modify-write (:func:`locked`) and a new file that never takes the name
of another (:func:`write_new`).
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    The temporary file keeps the target's suffix, so writers that infer the
    format from it (Keras, matplotlib, numpy) work unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private; give it the permissions a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_orphans(path: Path, any_name: bool = False) -> None:
    """Delete the temporaries of ``path`` left by writers that were killed mid-write.

    Each temporary is ``.<stem>.<pid>.<random><suffix>``; one whose writer is
    alive (another worker writing the same file) is left alone. With
    ``any_name``, the temporaries of every ``<stem>`` are swept: a new file's
    name (a submission's timestamp) differs from one writer to the next.
    """
    for tmp in path.parent.glob(f".*{glob.escape(path.suffix)}"):
        stem, _, pid = tmp.name[1:len(tmp.name) - len(path.suffix)].rpartition(".")[0].rpartition(".")
        if (any_name or stem == path.stem) and pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def locked(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock for ``path`` while the block reads, changes and rewrites it.

    The lock is taken on ``<path>.lock`` beside it, not on ``path`` itself:
    a rewrite renames a new file over ``path``, and a lock on the old inode
    would not stop the next writer. Advisory (``fcntl.flock``): every writer
    of ``path`` must take it; the kernel drops it when a holder dies.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_new(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path``, or to ``<stem>_2<suffix>``, ``_3``... when that name is taken; return the path written.

    The complete file is linked to its name in one step that fails if the
    name exists, so two processes choosing the same name at the same moment
    both get a file of their own, and neither is ever seen half-written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path, any_name=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        number = 1
        while True:
            candidate = path if number == 1 else path.with_name(f"{path.stem}_{number}{path.suffix}")
            try:
                os.link(tmp, candidate)
                return candidate
            except FileExistsError:
                number += 1
    finally:
        os.unlink(tmp)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def append_line(path: str | os.PathLike, line: str, header: str) -> None:
    """Append one line to a text file atomically (rewrite, then rename)."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else header + "\n"
    if not old.endswith("\n"):
        old += "\n"
    write_text(path, old + line + "\n")


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
