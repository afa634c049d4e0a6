"""A reload (``kill -HUP`` of gunicorn's master, as a deploy of new code or configuration
does) under load answers every request: wrk counts no refused connection, timeout or error
status while the old workers finish and new ones take over, and no more cut requests than
its kept-alive connections can meet when an old worker closes them (tests/e2e/reloads.py).
Production's default socket layout is tested (gunicorn.conf.py: one shared socket, or a
socket per worker where the kernel migrates the connections queued at a closing one), and
each layout on its own. What is loaded, /healthz, never reaches the database: the tests run
on one (``one_database``)."""

import shutil
from pathlib import Path

import pytest

from app.sockets import kernel_migrates_queued_connections
from tests.e2e import http
from tests.e2e.reloads import reload
from tests.e2e.reloads import reload_under_load

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = 'jsonify({"status": "ok"})'
NEXT_RELEASE = 'jsonify({"status": "ok", "release": "next"})'


def _deployed_copy(folder: Path) -> Path:
    """The service as a deploy lays it out: a folder that new code replaces in place."""
    folder.mkdir()
    shutil.copytree(ROOT / "app", folder / "app", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("wsgi.py", "config.py", "gunicorn.conf.py"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def _replace_health_view(deployed: Path, old: str, new: str) -> None:
    view = deployed / "app" / "api" / "health.py"
    text = view.read_text()
    assert old in text
    view.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    "sockets", [{}, {"GUNICORN_REUSE_PORT": "0"}, {"GUNICORN_REUSE_PORT": "1"}],
    ids=["production-default", "one-shared-socket", "a-socket-per-worker"],
)  # fmt: skip
def test_a_reload_under_load_fails_no_request(start_server, sockets):
    if sockets.get("GUNICORN_REUSE_PORT") == "1" and not kernel_migrates_queued_connections():
        pytest.skip(
            "a socket per worker loses queued connections on reload unless the kernel migrates "
            "them: sysctl -w net.ipv4.tcp_migrate_req=1 (.ci/run sets it)"
        )
    server = start_server(**sockets)
    assert server.process is not None

    reloaded = reload_under_load(server.url, [server.process.pid])

    assert reloaded.measured.requests > 1000
    assert not reloaded.lost_requests(), reloaded.measured
    assert reloaded.swapped_under_load(1), "the new workers took over after the load had stopped"


def test_a_reload_under_load_serves_the_new_code_and_fails_no_request(start_server, tmp_path):
    deployed = _deployed_copy(tmp_path / "service")
    server = start_server(TEST_GUNICORN_CWD=str(deployed))
    assert server.process is not None
    _replace_health_view(deployed, HEALTHY, NEXT_RELEASE)

    reloaded = reload_under_load(server.url, [server.process.pid])

    assert reloaded.measured.requests > 1000
    assert not reloaded.lost_requests(), reloaded.measured
    assert reloaded.swapped_under_load(1), "the new workers took over after the load had stopped"
    assert http.get(f"{server.url}/healthz").json() == {"status": "ok", "release": "next"}


def test_a_reload_with_code_that_does_not_start_keeps_the_running_code(start_server, tmp_path):
    deployed = _deployed_copy(tmp_path / "service")
    server = start_server(TEST_GUNICORN_CWD=str(deployed))
    assert server.process is not None
    master = server.process.pid
    _replace_health_view(deployed, HEALTHY, "jsonify({'status': 'ok'}")  # a SyntaxError

    reload(master)

    assert http.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert "Reload kept the running code: the new code does not start: SyntaxError" in (
        server.logs()
    )
    _replace_health_view(deployed, "jsonify({'status': 'ok'}", NEXT_RELEASE)
    reload(master)
    assert http.get(f"{server.url}/healthz").json() == {"status": "ok", "release": "next"}
    assert server.process.poll() is None
