"""`flask users import` into a served database: every imported user logs in with the old
password through every face of the running service, and the weak hashes never rest."""

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text

from tests.e2e import http
from tests.legacy_users import LegacyUser
from tests.legacy_users import legacy_users
from tests.legacy_users import write_lines

pytestmark = pytest.mark.e2e

LEGACY = legacy_users()
FACES = ("blog", "cmg", "staff", "token-pair")


@pytest.fixture(scope="module")
def server(start_module_server):
    # A cheaper method than scrypt's default for the service's own hashes: a hundred logins
    # each upgrade or check one, and what is measured here is the import, not the KDF.
    return start_module_server(
        AUTH_RATELIMIT_CREDENTIALS_PER_IP="1000 per minute",
        AUTH_PASSWORD_HASH_METHOD="pbkdf2:sha256:10000",
        AUTH_AUDIT_BATCHED="false",  # each event's row is written before its response
    )


def _name(user: LegacyUser, face: str) -> str:
    return f"{user.key}-{face}"


def _line(user: LegacyUser, face: str) -> dict:
    name = _name(user, face)
    return user.line(email=f"{name}@legacy.example", username=name, emailVerified=True)


def _log_in_all(url: str, logins: dict[tuple[str, str], tuple[str, str]]) -> dict:
    """Each (key, face) logged in as (name, password), eight at a time, as clients do."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = pool.map(lambda item: _log_in(url, item[0][1], *item[1]), list(logins.items()))
        return dict(zip(logins, statuses, strict=True))


def _log_in(url: str, face: str, name: str, password: str) -> int:
    body = {"username": name, "password": password}
    if face == "blog":
        body = {"email": f"{name}@legacy.example", "password": password}
    path = {
        "blog": "/api/v1/auth/login",
        "cmg": "/auth/login",
        "staff": "/api/auth/login",
        "token-pair": "/api/token/",
    }[face]
    return http.post(f"{url}{path}", json=body).status_code


def _upgrades_of(server, email: str) -> int:
    engine = create_engine(server.database_url)
    with engine.connect() as connection:
        count = connection.execute(
            text(
                "SELECT count(*) FROM auth_events JOIN users ON users.id = auth_events.user_id "
                "WHERE users.email = :email AND event = 'password_upgraded'"
            ),
            {"email": email},
        ).scalar_one()
    engine.dispose()
    return count


def _database_text(server) -> str:
    """Every byte the database keeps: the SQLite file with its WAL, or every row of every
    table on PostgreSQL."""
    if server.database_url.startswith("sqlite"):
        path = Path(server.database_url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists()).lower()
    engine = create_engine(server.database_url)
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        dumped = [
            json.dumps([str(value) for value in row])
            for table in list(tables)
            for row in connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608
        ]
    engine.dispose()
    return "\n".join(dumped).lower()


def test_imported_users_of_every_format_log_in_through_every_face(server, tmp_path):
    racer = LEGACY[0]
    path = write_lines(
        tmp_path / "everyone.jsonl",
        [_line(user, face) for user in LEGACY for face in FACES] + [_line(racer, "racer")],
    )

    imported = server.flask("users", "import", str(path))

    assert imported.returncode == 0, imported.stderr
    assert f"Imported {len(LEGACY) * len(FACES) + 1} users from everyone.jsonl" in imported.stdout
    for user in LEGACY:
        assert user.password_hash not in imported.stdout + imported.stderr + server.logs()
    first = _log_in_all(server.url, {
        (user.key, face): (_name(user, face), user.password) for user in LEGACY for face in FACES
    })  # fmt: skip
    second = _log_in_all(server.url, {
        (user.key, "blog"): (_name(user, "blog"), user.password) for user in LEGACY
    })  # fmt: skip
    racing = _log_in_all(server.url, {
        (str(attempt), "blog"): (_name(racer, "racer"), racer.password) for attempt in range(30)
    })  # fmt: skip
    wrong = _log_in_all(server.url, {
        (user.key, "blog"): (_name(user, "blog"), "x" + user.password) for user in LEGACY
    })  # fmt: skip

    assert first == dict.fromkeys(first, 200)
    assert second == dict.fromkeys(second, 200)
    assert wrong == dict.fromkeys(wrong, 400)  # the blog document's wrong-credentials status
    assert racing == dict.fromkeys(racing, 200)
    upgrades = _upgrades_of(server, f"{_name(racer, 'racer')}@legacy.example")
    assert upgrades == 1  # thirty first logins at once, one replacement of the hash
    staff = next(user for user in LEGACY if user.scheme == "sha256")
    assert hashlib.sha256(staff.password.encode()).hexdigest() not in _database_text(server)
