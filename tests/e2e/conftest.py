"""A real gunicorn serving the service, with the production config and the real scrypt."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from flask_migrate import upgrade
from sqlalchemy import Executable
from sqlalchemy import Row
from sqlalchemy import create_engine
from sqlalchemy import update

from app.core.accounts.accounts import create_user
from app.core.models import User
from app.core.roles import create_role
from app.database import db
from tests.conftest import dispose_engines
from tests.conftest import make_app
from tests.databases import new_database
from tests.e2e.pages import AXE
from tests.factories import age_proofs
from tests.mailbox import Mailbox
from tests.ports import free_port
from tests.processes import ROOT
from tests.processes import run_flask
from tests.signing import signing_settings

START_TIMEOUT_SECONDS = 30
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Every server of a test seals and opens TOTP secrets with the same key, as hosts of one
# deployment do.
MFA_ENCRYPTION_KEY = Fernet.generate_key().decode()


@dataclass
class LiveServer:
    url: str
    env: dict[str, str]
    log_dir: Path
    database_url: str = ""
    process: subprocess.Popen[bytes] | None = None

    def logs(self) -> str:
        """Everything gunicorn and the app wrote: access log, error log, app log."""
        return "".join(path.read_text() for path in sorted(self.log_dir.glob("*.log")))

    def stop(self) -> None:
        """Stop gunicorn as a process manager does (SIGTERM) and wait until it exits."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)

    def flask(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``flask --app wsgi ARGS`` against the server's database."""
        return run_flask(self.env, *args)

    def create_user(
        self, name: str, *, password: str, email: str | None = None,
        roles: tuple[str, ...] = ("user",), client_id: int | None = None,
        permissions_of: dict[str, tuple[str, ...]] | None = None,
    ) -> None:  # fmt: skip
        """An account (``name@example.com`` unless ``email`` says) in the server's database,
        made in this process as ``flask users create`` makes it, scrypt hash included (that
        command is tested in tests/test_cli.py; a process of its own cost seconds).
        ``permissions_of`` first creates those roles."""
        app = make_app(self.database_url, AUTH_PASSWORD_HASH_METHOD="scrypt")
        with app.app_context():
            for role, permissions in (permissions_of or {}).items():
                create_role(name=role, permissions=permissions)
            create_user(
                username=name, email=email or f"{name}@example.com", password=password,
                role_names=roles, client_id=client_id, email_verified=True,
            )  # fmt: skip
            db.session.remove()
            dispose_engines()

    def age_proofs(self, seconds: int) -> None:
        """Move every session's latest proof of who holds it ``seconds`` into the past, in
        the server's database (the step-up's clock, turned back without waiting)."""
        with self._database():
            age_proofs(seconds)

    def set_user(self, username: str, **columns: object) -> None:
        """Set columns of a user's row in the server's database, as an earlier release or an
        operator left it."""
        with self._database():
            db.session.execute(update(User).where(User.username == username).values(**columns))
            db.session.commit()

    def read(self, statement: Executable) -> list[Row[Any]]:
        """The rows ``statement`` reads from the server's database, on a connection of its
        own: each call sees what the server had committed by then (running or stopped)."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.execute(statement))
        finally:
            engine.dispose()

    def read_value(self, statement: Executable) -> Any:
        """The one value ``statement`` reads from the server's database (a count, say)."""
        return self.read(statement)[0][0]

    @contextlib.contextmanager
    def _database(self) -> Iterator[None]:
        app = make_app(self.database_url)
        with app.app_context():
            yield
            db.session.remove()
            dispose_engines()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback; give a server MAIL_URL=mailbox.url."""
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def mailbox_module() -> Iterator[Mailbox]:
    """A real SMTP server shared by a module's servers (each test mails its own accounts)."""
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def start_server(database_kind: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers for one test; each stops when the test ends."""
    with _server_starter(database_kind, tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def start_module_server(
    database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., LiveServer]]:
    """Start servers shared by the tests of one module (on one database), for tests that
    each make their own accounts: a server start costs seconds."""
    with _server_starter(database_kind, tmp_path_factory.mktemp("servers")) as start:
        yield start


@contextlib.contextmanager
def _server_starter(database_kind: str, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``start(**settings)`` serves the app with gunicorn on a database of its own for this
    starter (every server of one starter shares it); a setting may name ``{port}``, the
    server's own port."""
    processes: list[subprocess.Popen[bytes]] = []
    migrated: list[str] = []
    with new_database(database_kind, tmp_path) as database_url:

        def start(**settings: str) -> LiveServer:
            port = free_port()
            settings = {
                name: value.replace("{port}", str(port)) for name, value in settings.items()
            }
            env = os.environ | {
                "APP_ENV": "production",
                **signing_settings(),
                "DATABASE_URL": database_url,
                "AUTH_COOKIE_SECURE": "false",
                "RATELIMIT_STORAGE_URI": "memory://",
                "AUTH_MFA_ENCRYPTION_KEY": MFA_ENCRYPTION_KEY,
                "AUTH_FRONTEND_URL": "http://localhost:5000",
                **settings,
            }
            log_dir = tmp_path / f"logs-{port}"
            log_dir.mkdir()
            server = LiveServer(
                url=f"http://127.0.0.1:{port}", env=env, log_dir=log_dir, database_url=database_url
            )
            if not migrated:
                _migrate(database_url)
                migrated.append(database_url)
            _serve(server)
            return server

        def restart(server: LiveServer, **settings: str) -> None:
            """Stop the server and start it again on the same address with ``settings``
            changed, as an operator redeploys with a new configuration."""
            server.stop()
            server.env |= settings
            _serve(server)

        def _serve(server: LiveServer) -> None:
            server.process = _spawn_gunicorn(server)
            processes.append(server.process)
            wait_until_serving(server.url, server.process)

        start.database_url = database_url  # type: ignore[attr-defined]
        start.restart = restart  # type: ignore[attr-defined]
        try:
            yield start
        finally:
            for process in processes:
                _end(process)


def _migrate(database_url: str) -> None:
    """Bring the database to the newest migration, in this process as the other tests do
    (``flask db upgrade`` itself is tested in tests/test_migrations.py): a process of its own
    cost seconds on every server start."""
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        db.session.remove()
        dispose_engines()


def _end(process: subprocess.Popen[bytes]) -> None:
    """A test's server, once the test is over: killed with its workers at once, as nothing a
    graceful stop does is checked any more (tests that check one call ``stop()``). A graceful
    stop cost one to several seconds a server, and the suite starts hundreds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # its own group (start_new_session)
    process.wait(timeout=30)


def _spawn_gunicorn(server: LiveServer) -> subprocess.Popen[bytes]:
    bind = server.url.removeprefix("http://")
    command = [
        sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", bind,
        "--workers", "2", "--threads", "4", server.env.get("TEST_GUNICORN_APP", "wsgi:app"),
    ]  # fmt: skip
    with (
        (server.log_dir / "stdout.log").open("w") as out,
        (server.log_dir / "stderr.log").open("w") as err,
    ):
        # TEST_GUNICORN_CWD: serve another copy of the service (a deploy of new code).
        cwd = server.env.get("TEST_GUNICORN_CWD", ROOT)
        return subprocess.Popen(
            command, cwd=cwd, env=server.env, stdout=out, stderr=err, start_new_session=True
        )


def wait_until_serving(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited during startup"
        try:
            requests.get(f"{url}/healthz", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"gunicorn did not answer on {url} in {START_TIMEOUT_SECONDS}s")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's); .ci/run installs it and sets REQUIRE_BROWSER=1, so in CI
    a missing browser fails the run instead of skipping."""
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (apt-get install chromium); browser test not run"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def axe_source() -> Path:
    """axe-core, which the page tests inject into every page (npm ci --prefix tests/pages)."""
    if not AXE.exists():
        pytest.fail("axe-core is not installed: npm ci --prefix tests/pages", pytrace=False)
    return AXE
