"""gunicorn settings for the auth service: `gunicorn -c gunicorn.conf.py wsgi:app`.

Environment: HOST and PORT (bind), WEB_CONCURRENCY (workers; default one per CPU, at least 2),
GUNICORN_THREADS (threads per worker, default 4), GUNICORN_ACCESS_LOG (0: none, where a proxy
writes one), GUNICORN_REUSE_PORT (1: a socket per worker, the production default where the
kernel migrates queued connections; 0: one shared socket), METRICS_PORT and METRICS_HOST
(Prometheus metrics from the master, summed over the workers; default host 127.0.0.1).
"""

import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path

_METRICS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
# Set in the master once its metrics directory is ready: a reload (kill -HUP) reads this file
# again and must keep the directory, which the live workers still write to.
_METRICS_MASTER = "AUTHSVC_METRICS_MASTER"
_OWN_METRICS_DIRECTORY = "authsvc-metrics-"


def _metrics_port() -> int | None:
    raw = os.environ.get("METRICS_PORT", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit("authsvc: refusing to start: METRICS_PORT must be a port number (1-65535)")
    return int(raw)


def _prepare_metrics_directory() -> None:
    """An empty directory for the workers' values: the operator's PROMETHEUS_MULTIPROC_DIR,
    emptied, or a new temporary one. It must be set before the app is imported below, for
    prometheus-client chooses where it keeps values when it is imported."""
    if os.environ.get(_METRICS_MASTER) == str(os.getpid()):
        return
    given = os.environ.get(_METRICS_DIRECTORY)
    if given:
        for leftover in Path(given).glob("*.db"):
            leftover.unlink()
    else:
        os.environ[_METRICS_DIRECTORY] = tempfile.mkdtemp(prefix=_OWN_METRICS_DIRECTORY)
    os.environ[_METRICS_MASTER] = str(os.getpid())


_port_for_metrics = _metrics_port()
if _port_for_metrics is not None:
    _prepare_metrics_directory()

from app import sockets  # noqa: E402 (after the metrics directory is chosen)

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
# One worker per CPU, each with threads to cover its database and Redis waits: `make bench`
# measured the same throughput as 2 x CPUs + 1 workers with half the p99 latency, less
# memory and fewer database connections (docs/benchmarks.md, "gunicorn worker models").
workers = int(os.environ.get("WEB_CONCURRENCY") or max(multiprocessing.cpu_count(), 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Each worker may listen on its own SO_REUSEPORT socket, so the kernel spreads new connections
# evenly over the workers. On one shared socket, a burst of keep-alive connections (a proxy's
# pool, a load test) could all be accepted by whichever worker woke first and stay there:
# `make bench` saw all 16 of wrk's connections on one worker in a third of its runs, which then
# served at half the server's rate with the other worker idle (docs/benchmarks.md). The cost:
# when a worker stops (a reload with `kill -HUP`, a restart after max requests), connections
# still queued at its socket are reset, unless the kernel hands them to a sibling socket
# (Linux 5.14+, sysctl net.ipv4.tcp_migrate_req=1): a reload under wrk failed 2 to 7 requests
# in 8 s without it and none with it (tests/e2e/test_reload_under_load.py). So production uses
# per-worker sockets where the kernel migrates queued connections, and the one shared socket
# (which loses nothing on reload) elsewhere; outside production (`make run`) the shared socket
# stays, since a second server started on the same port by the same user would share it
# silently instead of failing. GUNICORN_REUSE_PORT=1 or 0 decides either way.
_production = os.environ.get("APP_ENV", "production") == "production"
_reuse_port_default = "1" if _production and sockets.kernel_migrates_queued_connections() else "0"
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", _reuse_port_default) == "1"
timeout = 30
graceful_timeout = 20
keepalive = 5

# Load the app once in the master: a bad configuration stops startup with one message, and
# startup warnings are written once rather than once per worker.
preload_app = True

# Several servers may share a host (and the test suite starts many): no shared control socket.
control_socket_disable = True

# gunicorn's error and access lines are JSON, one object a line, like the service's own
# (app/logs.py). Access lines hold method and path only (no query string, no Referer), so a
# token that a client wrongly puts in a URL is never written down, and the request id.
# GUNICORN_ACCESS_LOG=0 turns them off where a reverse proxy writes one already.
logger_class = "app.logs.GunicornJsonLogger"
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "1" else None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Headers larger than this are refused by gunicorn itself, before the app sees them.
limit_request_line = 8190
limit_request_field_size = 16384


def when_ready(server: object) -> None:
    """Serve the metrics once the master listens; never on the public port."""
    if _port_for_metrics is None:
        return
    from app import metrics_exporter

    host = os.environ.get("METRICS_HOST", "127.0.0.1")
    try:
        metrics_exporter.serve(_port_for_metrics, host)
    except OSError as error:
        sys.exit(
            f"authsvc: refusing to start: metrics on {host}:{_port_for_metrics}: {error.strerror}"
        )


def on_reload(server: object) -> None:
    """kill -HUP: fork the new workers from the code on disk now, not the code loaded at start
    (app/reloading.py); code that does not start is refused and the running code stays."""
    from app import reloading

    try:
        reloading.load_new_code(server.app)  # type: ignore[attr-defined]
    except reloading.NewCodeRefused as refusal:
        server.log.error(  # type: ignore[attr-defined]
            "Reload kept the running code: the new code does not start: %s", refusal
        )


def post_worker_init(worker: object) -> None:
    """Each worker delivers the outbox's mail and webhooks from threads of its own, from the
    start: what a killed worker left is sent even if no request comes to this one."""
    from app.core.hooks.delivery import start_delivery as start_webhooks
    from app.core.mail.mail import start_delivery as start_mail

    start_mail(worker.wsgi)  # type: ignore[attr-defined]
    start_webhooks(worker.wsgi)  # type: ignore[attr-defined]


def child_exit(server: object, worker: object) -> None:
    if _port_for_metrics is not None:
        from app import metrics_exporter

        metrics_exporter.forget_worker(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    directory = os.environ.get(_METRICS_DIRECTORY, "")
    if _port_for_metrics is not None and Path(directory).name.startswith(_OWN_METRICS_DIRECTORY):
        shutil.rmtree(directory, ignore_errors=True)
