"""The metrics endpoint of a gunicorn host: the master serves, on METRICS_PORT, the sum of
what every worker counted (prometheus-client's multiprocess mode), so a scrape sees the whole
host whichever worker would have answered it, and the public port never serves metrics.

gunicorn.conf.py makes the directory the workers write to before the app is imported
(prometheus-client picks its storage at import), then calls these from its hooks.
"""

from prometheus_client import CollectorRegistry
from prometheus_client import start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.multiprocess import mark_process_dead


def serve(port: int, host: str) -> None:
    """Serve /metrics on ``host``:``port`` from a thread of this (the master) process."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    start_http_server(port, addr=host, registry=registry)


def forget_worker(pid: int) -> None:
    """A dead worker's live gauges (the mail queue it held) stop counting."""
    mark_process_dead(pid)
