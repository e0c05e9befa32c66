"""``make dashboard``: optuna-dashboard on the competition's studies, on this machine only.

The dashboard is optuna-dashboard's own WSGI app (``optuna_dashboard.wsgi``)
served by the standard library's threaded WSGI server on 127.0.0.1 and a
port the system picks free, so two dashboards never collide. It prints the
address of the competition's current study and serves until Ctrl-C.
"""

from __future__ import annotations

import logging
import signal
import socketserver
from wsgiref import simple_server

import optuna_dashboard

from memdev.errors import MemdevError
from memdev.paths import Paths
from memdev.tuning import studies

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # never other machines: the dashboard can rename and delete studies


class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    """One thread per request: the page asks for several things at once."""

    daemon_threads = True  # Ctrl-C does not wait for a browser's open connections


class QuietHandler(simple_server.WSGIRequestHandler):
    """Requests are logged at debug level: a line per request would bury the address."""

    def log_message(self, format: str, *args) -> None:
        log.debug(format, *args)


def server(paths: Paths, storage_url: str | None = None, port: int = 0) -> tuple[Server, str]:
    """A dashboard server bound to 127.0.0.1 (``port`` 0: a free one), and the address of the current study."""
    storage = studies.open_storage(paths, storage_url)
    found = studies.find(paths, storage) if storage is not None else []
    if not found:
        where = studies.shown(studies.storage_url(paths, storage_url))
        raise MemdevError(f"no study of {paths.slug!r} in {where} yet; run `make tune COMP={paths.slug}` first")
    httpd = simple_server.make_server(HOST, port, optuna_dashboard.wsgi(storage), server_class=Server,
                                      handler_class=QuietHandler)
    return httpd, f"http://{HOST}:{httpd.server_port}/dashboard/studies/{found[0].study_id}"


def run(paths: Paths, storage_url: str | None = None, port: int = 0) -> None:
    """Serve until Ctrl-C."""
    httpd, address = server(paths, storage_url, port)
    # a process started in the background by a shell inherits SIGINT ignored, and would never stop on it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    log.info(f"dashboard: {address}  (Ctrl-C stops it)")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        log.info("dashboard: stopped")
    finally:
        httpd.server_close()
