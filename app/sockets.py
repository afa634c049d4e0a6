"""What the kernel does with a listening socket's queue, for gunicorn.conf.py and its tests."""

from pathlib import Path

MIGRATE_REQUESTS = Path("/proc/sys/net/ipv4/tcp_migrate_req")


def kernel_migrates_queued_connections() -> bool:
    """True where Linux hands the connections queued at a closing SO_REUSEPORT socket to a
    sibling (5.14+, sysctl net.ipv4.tcp_migrate_req=1)."""
    try:
        return MIGRATE_REQUESTS.read_text().strip() == "1"
    except OSError:
        return False
