"""The migrations build every table on an empty database, match the models, and undo cleanly."""

import os
import subprocess
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import DateTime
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import column
from sqlalchemy import create_engine
from sqlalchemy import insert
from sqlalchemy import inspect
from sqlalchemy import table
from sqlalchemy import text

from tests.databases import new_database
from tests.processes import run_flask


def _flask(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_flask(os.environ | {"APP_ENV": "testing", "DATABASE_URL": database_url}, *args)


@pytest.fixture
def empty_database(database_kind, tmp_path):
    with new_database(database_kind, tmp_path) as url:
        yield url


def test_upgrade_on_an_empty_database_matches_the_models_and_seeds_roles(empty_database):
    upgraded = _flask(empty_database, "db", "upgrade")
    checked = _flask(empty_database, "db", "check")

    assert upgraded.returncode == 0, upgraded.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    engine = create_engine(empty_database)
    with engine.connect() as connection:
        names = [row[0] for row in connection.exec_driver_sql("SELECT name FROM roles ORDER BY id")]
    engine.dispose()
    assert names == ["user", "admin"]


def test_downgrade_to_base_removes_every_table(empty_database):
    _flask(empty_database, "db", "upgrade")

    downgraded = _flask(empty_database, "db", "downgrade", "base")

    assert downgraded.returncode == 0, downgraded.stderr
    engine = create_engine(empty_database)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_upgrade_to_0005_finds_the_target_of_earlier_admin_events(empty_database):
    _flask(empty_database, "db", "upgrade", "0004")
    events = table("auth_events", column("id", Integer), column("occurred_at", DateTime),
                   column("event", String), column("outcome", String),
                   column("user_id", Integer), column("details", JSON))  # fmt: skip
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(insert(events), [
            {"occurred_at": datetime.now(UTC), "event": "user_updated", "outcome": "success",
             "user_id": 1, "details": {"target_user_id": 7, "is_active": False}},
            {"occurred_at": datetime.now(UTC), "event": "login", "outcome": "success",
             "user_id": 7, "details": None},
        ])  # fmt: skip

    upgraded = _flask(empty_database, "db", "upgrade")

    assert upgraded.returncode == 0, upgraded.stderr
    with engine.connect() as connection:
        targets = connection.exec_driver_sql(
            "SELECT event, target_user_id FROM auth_events ORDER BY id"
        ).all()
    engine.dispose()
    assert [tuple(row) for row in targets] == [("user_updated", 7), ("login", None)]


USERS = table("users", column("id", Integer), column("username", String),
              column("email", String), column("password_hash", String),
              column("social_links", JSON), column("is_active", Boolean),
              column("created_at", DateTime), column("updated_at", DateTime))  # fmt: skip


def _add_users(url: str, *emails: str) -> None:
    now = datetime.now(UTC)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(USERS), [
            {"id": n, "username": f"user{n}", "email": email, "password_hash": "x",
             "social_links": {}, "is_active": True, "created_at": now, "updated_at": now}
            for n, email in enumerate(emails, start=1)
        ])  # fmt: skip
    engine.dispose()


def _emails(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as connection:
        emails = [
            row[0] for row in connection.exec_driver_sql("SELECT email FROM users ORDER BY id")
        ]
    engine.dispose()
    return emails


def test_upgrade_to_0006_refuses_accounts_that_would_share_a_mailbox(empty_database):
    """A Unicode domain and its punycode twin were two accounts; under the new rule they are
    one mailbox. The upgrade names them and changes nothing until an operator resolves it."""
    _flask(empty_database, "db", "upgrade", "0005")
    _add_users(empty_database, "müller@bücher.example", "müller@xn--bcher-kva.example",
               "other@example.com")  # fmt: skip

    refused = _flask(empty_database, "db", "upgrade")

    assert refused.returncode != 0
    assert "0006 refused: 1 group(s) of accounts would share one mailbox" in refused.stderr
    assert "müller@xn--bcher-kva.example: user ids 1" in refused.stderr
    assert _emails(empty_database) == ["müller@bücher.example", "müller@xn--bcher-kva.example",
                                       "other@example.com"]  # fmt: skip


def test_upgrade_to_0006_stores_every_address_in_its_canonical_form(empty_database):
    _flask(empty_database, "db", "upgrade", "0005")
    _add_users(empty_database, "müller@bücher.example", '"quoted"@example.com')

    upgraded = _flask(empty_database, "db", "upgrade")

    assert upgraded.returncode == 0, upgraded.stderr
    assert "1 account(s) keep an address email-validator refuses (user ids 2)" in upgraded.stderr
    assert _emails(empty_database) == ["müller@xn--bcher-kva.example", '"quoted"@example.com']


def test_upgrade_to_0010_frees_the_addresses_providers_gave_unverified_and_dates_proofs(
    empty_database,
):
    """Accounts an OpenID sign-in made with an address its provider did not verify (no
    usable password, an identity, never verified here) let go of it; every other keeps its
    own. Sessions count their login as their latest proof, a second factor when it had one."""
    _flask(empty_database, "db", "upgrade", "0009")
    now = datetime.now(UTC)
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(insert(USERS), [
            {"id": n, "username": f"user{n}", "email": f"user{n}@example.com",
             "password_hash": password, "social_links": {}, "is_active": True,
             "created_at": now, "updated_at": now}
            for n, password in ((1, "!unusable"), (2, "!unusable"), (3, "scrypt:x"))
        ])  # fmt: skip
        connection.exec_driver_sql("UPDATE users SET email_verified_at = created_at WHERE id = 2")
        connection.execute(
            text(
                "INSERT INTO oidc_identities (user_id, provider, issuer, subject, created_at) "
                "VALUES (:user_id, 'test', 'https://idp.example', :subject, :now)"
            ),
            [{"user_id": n, "subject": f"sub{n}", "now": now} for n in (1, 2, 3)],
        )
        connection.execute(
            text(
                "INSERT INTO sessions (id, user_id, dialect, created_at, last_used_at, "
                "expires_at, absolute_expires_at, amr) "
                "VALUES (:id, 3, 'blog', :now, :now, :now, :now, :amr)"
            ),
            [
                {"id": "s-pwd", "amr": "pwd", "now": now},
                {"id": "s-otp", "amr": "pwd otp mfa", "now": now},
            ],
        )

    upgraded = _flask(empty_database, "db", "upgrade")

    assert upgraded.returncode == 0, upgraded.stderr
    assert _emails(empty_database) == [None, "user2@example.com", "user3@example.com"]
    with engine.connect() as connection:
        proofs = connection.exec_driver_sql(
            "SELECT id, auth_time = created_at, auth_methods, second_factor_at IS NOT NULL "
            "FROM sessions ORDER BY id"
        ).all()
    engine.dispose()
    assert [tuple(row) for row in proofs] == [
        ("s-otp", True, "pwd otp mfa", True),
        ("s-pwd", True, "pwd", False),
    ]
