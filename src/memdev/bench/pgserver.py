"""A throwaway PostgreSQL server on loopback, for the multi-worker tests and ``bench --tuning``."""

from __future__ import annotations

import contextlib
import getpass
import glob
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

MISSING = "PostgreSQL server binaries not found: `apt-get install postgresql` (.ci/run does)"


def _bin(name: str) -> str | None:
    # Debian keeps the server binaries off PATH, one folder per major version
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def available() -> bool:
    """Whether the binaries needed by :func:`throwaway_server` are installed."""
    return all(_bin(name) for name in ("initdb", "pg_ctl", "createdb"))


@contextlib.contextmanager
def throwaway_server(database: str = "memdev") -> Iterator[str]:
    """Start a private PostgreSQL cluster on 127.0.0.1, stop and delete it on exit.

    Parameters
    ----------
    database : str
        Name of the empty database created in the cluster.

    Yields
    ------
    str
        SQLAlchemy URL of that database, ``postgresql+psycopg2://postgres@127.0.0.1:<port>/<database>``
        (trust authentication: no password).

    Raises
    ------
    FileNotFoundError
        When the server binaries are missing (see :func:`available`).
    """
    if not available():
        raise FileNotFoundError(MISSING)
    initdb, pg_ctl, createdb = _bin("initdb"), _bin("pg_ctl"), _bin("createdb")
    # not under pytest's or the caller's temporary folders: those may be private to root, and the server runs as postgres
    folder = Path(tempfile.mkdtemp(prefix="memdev-pg-"))
    data = folder / "data"
    as_user = []
    if getpass.getuser() == "root":  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        subprocess.run(as_user + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                                  f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=50", "start"],
                       check=True, capture_output=True)
        subprocess.run(as_user + [createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create the empty database ``name`` on the server of ``url``; return its URL."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")  # CREATE DATABASE refuses to run in a transaction
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return sqlalchemy.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
