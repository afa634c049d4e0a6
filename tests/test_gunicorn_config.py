"""gunicorn.conf.py: a listening socket per worker in production, one shared one elsewhere."""

import runpy
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.mark.parametrize(
    ("environment", "reuse_port"),
    [
        ({"APP_ENV": "production"}, True),
        ({}, True),
        ({"APP_ENV": "development"}, False),
        ({"APP_ENV": "testing"}, False),
        ({"APP_ENV": "production", "GUNICORN_REUSE_PORT": "0"}, False),
        ({"APP_ENV": "development", "GUNICORN_REUSE_PORT": "1"}, True),
    ],
)
def test_each_worker_listens_on_its_own_socket_in_production(monkeypatch, environment, reuse_port):
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
