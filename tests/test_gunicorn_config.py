"""gunicorn.conf.py: a listening socket per worker in production, one shared one elsewhere."""

import runpy
from pathlib import Path

import pytest

from app import sockets

CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.mark.parametrize(
    ("environment", "kernel_migrates", "reuse_port"),
    [
        ({"APP_ENV": "production"}, "1", True),
        ({}, "1", True),
        ({"APP_ENV": "production"}, "0", False),
        ({}, None, False),
        ({"APP_ENV": "development"}, "1", False),
        ({"APP_ENV": "testing"}, "1", False),
        ({"APP_ENV": "production", "GUNICORN_REUSE_PORT": "0"}, "1", False),
        ({"APP_ENV": "development", "GUNICORN_REUSE_PORT": "1"}, "0", True),
    ],
)
def test_each_worker_listens_on_its_own_socket_in_production_where_the_kernel_migrates(
    monkeypatch, tmp_path, environment, kernel_migrates, reuse_port
):
    setting = tmp_path / "tcp_migrate_req"
    if kernel_migrates is not None:
        setting.write_text(f"{kernel_migrates}\n")
    monkeypatch.setattr(sockets, "MIGRATE_REQUESTS", setting)
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("GUNICORN_REUSE_PORT", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert runpy.run_path(str(CONFIG))["reuse_port"] is reuse_port


@pytest.mark.parametrize(("setting", "accesslog"), [(None, "-"), ("1", "-"), ("0", None)])
def test_the_access_log_is_on_unless_gunicorn_access_log_is_0(monkeypatch, setting, accesslog):
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    if setting is not None:
        monkeypatch.setenv("GUNICORN_ACCESS_LOG", setting)

    assert runpy.run_path(str(CONFIG))["accesslog"] == accesslog


@pytest.mark.parametrize("port", ["ninety", "0", "70000", "-1"])
def test_a_metrics_port_that_is_not_a_port_stops_the_start_in_one_line(monkeypatch, port):
    monkeypatch.setenv("METRICS_PORT", port)

    with pytest.raises(SystemExit, match="METRICS_PORT must be a port number"):
        runpy.run_path(str(CONFIG))
