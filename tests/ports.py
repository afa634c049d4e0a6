"""Free ports for the servers the tests start, never the same one for two test processes.

A port is found by binding to port 0 and closing the probe; the server binds it a moment
later (gunicorn only after importing the app). Two pytest-xdist workers could be handed the
same port in that moment, and with SO_REUSEPORT (gunicorn in production mode, where the
kernel migrates queued connections) both servers would bind it and share its connections:
one test's requests would reach the other's server and database. So each worker takes only
the ports that its number divides out of the worker count.
"""

import os
import socket


def free_port() -> int:
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    for _ in range(1000):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port // 2 % workers == worker:
            return port
    raise RuntimeError(f"no free port of pytest-xdist worker {worker} in 1,000 tries")
