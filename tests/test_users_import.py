"""`flask users import|export`: foreign hashes in, the service's hashes out, nothing half done."""

import hashlib
import json
import os
import stat

import pytest

from app.core import roles
from app.core.accounts import accounts
from app.core.errors import InvalidCredentialsError
from app.core.models import AuthEvent
from app.core.models import User
from app.core.signin import authentication
from app.database import db
from tests.factories import make_user
from tests.factories import signed_in_caller
from tests.legacy_users import legacy_users
from tests.legacy_users import write_lines

LEGACY = legacy_users()


def _stored(email: str) -> User | None:
    return db.session.scalars(db.select(User).where(User.email == email)).one_or_none()


def _user_count() -> int:
    return db.session.scalar(db.select(db.func.count(User.id)))


def _import(runner, path, *options):
    return runner.invoke(args=["users", "import", str(path), *options])


@pytest.fixture
def legacy_file(tmp_path):
    return write_lines(tmp_path / "legacy.jsonl", [user.line() for user in LEGACY])


def test_import_creates_every_format_and_each_user_logs_in_with_the_old_password(
    app_context, runner, legacy_file
):
    result = _import(runner, legacy_file)

    assert result.exit_code == 0, result.output
    assert f"Imported {len(LEGACY)} users from legacy.jsonl" in result.output
    for user in LEGACY:
        assert authentication.authenticate(identifier=user.email, password=user.password).email == (
            user.email
        ), user.key


def test_a_wrong_password_fails_for_every_imported_format(app_context, runner, legacy_file):
    _import(runner, legacy_file)

    for user in LEGACY:
        with pytest.raises(InvalidCredentialsError):
            authentication.authenticate(identifier=user.email, password=user.password + "x")


@pytest.mark.parametrize("user", LEGACY, ids=lambda user: user.key)
def test_the_first_login_replaces_an_imported_hash_with_the_services_own(
    app_context, runner, tmp_path, user
):
    _import(runner, write_lines(tmp_path / "one.jsonl", [user.line()]))
    imported = _stored(user.email).password_hash

    authentication.authenticate(identifier=user.email, password=user.password)
    db.session.expire_all()
    upgraded = _stored(user.email).password_hash
    authentication.authenticate(identifier=user.email, password=user.password)
    db.session.expire_all()

    events = db.session.scalars(
        db.select(AuthEvent).where(AuthEvent.event == "password_upgraded")
    ).all()
    assert _stored(user.email).password_hash == upgraded  # the second login changes nothing
    if user.key == "wzscrypt":  # werkzeug above the floors: the service's own kind, kept
        assert (upgraded, events) == (imported, [])
        return
    assert upgraded.startswith("pbkdf2:sha256:1$")  # the testing configuration's method
    assert upgraded != imported
    assert [event.user_id for event in events] == [_stored(user.email).id]


@pytest.mark.parametrize("user", [u for u in LEGACY if u.weak], ids=lambda user: user.key)
def test_a_weak_hash_is_stored_wrapped_never_as_it_came(app_context, runner, tmp_path, user):
    _import(runner, write_lines(tmp_path / "one.jsonl", [user.line()]))

    stored = _stored(user.email).password_hash
    assert stored.startswith("wrapped|")
    assert user.password_hash not in stored
    assert user.password_hash.lower() not in stored


def test_the_unsalted_sha256_value_is_nowhere_in_the_database(app_context, runner, tmp_path):
    staff = next(user for user in LEGACY if user.key == "staff")
    _import(runner, write_lines(tmp_path / "staff.jsonl", [staff.line()]))
    digest = hashlib.sha256(staff.password.encode()).hexdigest()

    for table in db.metadata.sorted_tables:
        for row in db.session.execute(db.select(table)).all():
            text = json.dumps([str(value) for value in row]).lower()
            assert digest not in text, table.name


def test_a_strong_hash_is_kept_as_it_came_until_the_first_login(app_context, runner, tmp_path):
    user = next(user for user in LEGACY if user.key == "bcrypt2b")
    _import(runner, write_lines(tmp_path / "one.jsonl", [user.line()]))

    assert _stored(user.email).password_hash == user.password_hash


def test_one_bad_line_refuses_the_whole_file_and_names_each_bad_line(app_context, runner, tmp_path):
    good = [user.line() for user in LEGACY[:3]]
    bad = [
        {"email": "not an email", "passwordHash": LEGACY[0].password_hash},
        {"email": "unknown@legacy.example", "passwordHash": "md5$abc$def"},
        {"email": "role@legacy.example", "roles": ["wizard"]},
        LEGACY[0].line(),  # the same email as line 1
        {"email": "sha@legacy.example", "passwordHash": "ab" * 32},  # SHA-256 not named
    ]
    path = write_lines(tmp_path / "mixed.jsonl", good + bad)
    before = _user_count()

    result = _import(runner, path)

    assert result.exit_code == 1
    assert _user_count() == before
    assert "line 4: email: Not a valid email address." in result.output
    assert "line 5: passwordHash: Not a recognised password hash format" in result.output
    assert "line 6: roles: Unknown roles: wizard." in result.output
    assert "line 7: email: The same email as line 1." in result.output
    assert "line 8: passwordHash: Not a recognised" in result.output
    assert "nothing was imported" in result.output
    for line in good + bad:
        if "passwordHash" in line:
            assert line["passwordHash"] not in result.output
    assert db.session.scalar(db.select(db.func.count(AuthEvent.id))) == 0


def test_a_line_that_is_not_json_or_has_unknown_fields_is_named(app_context, runner, tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"email": "a@legacy.example"}\n{"email": \n{"email": "b@x.io", "pw": 1}\n[]\n')

    result = _import(runner, path)

    assert result.exit_code == 1
    assert "line 2: line: Not valid JSON" in result.output
    assert "line 3: pw: Unknown field." in result.output
    assert "line 4: line: Invalid input type." in result.output
    assert _stored("a@legacy.example") is None


def test_skip_invalid_imports_the_good_lines_and_reports_the_rest(app_context, runner, tmp_path):
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [LEGACY[0].line(), {"email": "nope"}, LEGACY[1].line()],
    )

    result = _import(runner, path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "line 2: email: Not a valid email address." in result.output
    assert "Imported 2 users" in result.output and "1 invalid lines" in result.output
    assert _stored(LEGACY[0].email) and _stored(LEGACY[1].email)


def test_dry_run_checks_the_file_and_writes_nothing(app_context, runner, legacy_file):
    before = _user_count()

    result = _import(runner, legacy_file, "--dry-run")

    assert result.exit_code == 0, result.output
    assert f"Would import {len(LEGACY)} users" in result.output
    assert _user_count() == before


def test_importing_the_same_file_again_adds_no_one(app_context, runner, legacy_file):
    _import(runner, legacy_file)
    count = _user_count()

    result = _import(runner, legacy_file)

    assert result.exit_code == 0, result.output
    assert _user_count() == count
    assert "Imported 0 users from legacy.jsonl" in result.output
    assert f"{len(LEGACY)} already here" in result.output


def test_update_changes_profiles_but_never_a_password_set_here(app_context, runner, tmp_path):
    user = LEGACY[0]
    _import(runner, write_lines(tmp_path / "first.jsonl", [user.line()]))
    authentication.authenticate(identifier=user.email, password=user.password)  # upgraded here
    again = write_lines(
        tmp_path / "again.jsonl",
        [
            user.line(
                displayName="Renamed", roles=["user", "admin"], passwordHash=LEGACY[1].password_hash
            )
        ],
    )

    result = _import(runner, again, "--update")

    assert result.exit_code == 0, result.output
    assert "1 updated, kept 1 passwords set here" in result.output
    db.session.expire_all()
    stored = _stored(user.email)
    assert stored.display_name == "Renamed"
    assert sorted(roles.role_names(stored)) == ["admin", "user"]
    assert authentication.authenticate(identifier=user.email, password=user.password)


def test_an_account_without_a_hash_logs_in_only_after_a_reset(app_context, runner, tmp_path):
    _import(runner, write_lines(tmp_path / "nohash.jsonl", [{"email": "nohash@legacy.example"}]))

    stored = _stored("nohash@legacy.example")
    assert stored.password_hash.startswith("!")
    with pytest.raises(InvalidCredentialsError):
        authentication.authenticate(
            identifier="nohash@legacy.example", password=stored.password_hash
        )


def test_every_field_of_a_line_is_kept(app_context, runner, tmp_path):
    line = LEGACY[0].line(
        username="Reader.One",
        roles=["admin"],
        displayName="Reader One",
        firstName="Reader",
        lastName="One",
        clientId=42,
        emailVerified=True,
        isActive=False,
        createdAt="2019-05-01T10:00:00Z",
    )
    _import(runner, write_lines(tmp_path / "full.jsonl", [line]))

    user = _stored(LEGACY[0].email)
    assert (user.username, user.display_name, user.first_name, user.last_name) == (
        "reader.one",
        "Reader One",
        "Reader",
        "One",
    )
    assert (user.client_id, user.is_active, user.email_verified_at is not None) == (42, False, True)
    assert user.created_at.isoformat().startswith("2019-05-01T10:00:00")
    assert roles.role_names(user) == ["admin"]


def test_a_username_taken_by_another_account_is_refused(app_context, runner, tmp_path):
    make_user(username="taken", email="owner@example.com")

    result = _import(runner, write_lines(tmp_path / "u.jsonl", [LEGACY[0].line(username="taken")]))

    assert result.exit_code == 1
    assert "line 1: username: Taken by another account." in result.output


def test_each_imported_account_gets_an_audit_event_naming_the_file(
    app_context, runner, legacy_file
):
    _import(runner, legacy_file)

    events = db.session.scalars(db.select(AuthEvent).where(AuthEvent.event == "user_imported"))
    assert sorted(event.user_id for event in events) == sorted(
        _stored(user.email).id for user in LEGACY
    )
    assert {json.dumps(event.details) for event in events} <= {'{"file": "legacy.jsonl"}'}


def test_import_reads_stdin(app_context, runner):
    lines = "".join(json.dumps(user.line()) + "\n" for user in LEGACY[:2])

    result = runner.invoke(args=["users", "import", "-"], input=lines)

    assert result.exit_code == 0, result.output
    assert "Imported 2 users from <stdin>" in result.output


def test_export_writes_the_same_format_with_mode_0600_and_imports_back(
    app_context, runner, tmp_path, legacy_file
):
    _import(runner, legacy_file)
    target = tmp_path / "backup.jsonl"

    result = runner.invoke(args=["users", "export", str(target)])

    assert result.exit_code == 0, result.output
    assert "holds password hashes" in result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    exported = {line["email"]: line for line in lines}
    assert set(exported) >= {user.email for user in LEGACY}
    for line in lines:
        db.session.execute(db.delete(User).where(User.email == line["email"]))
    db.session.commit()

    result = _import(runner, target)

    assert result.exit_code == 0, result.output
    for user in LEGACY:
        assert authentication.authenticate(identifier=user.email, password=user.password)


def test_an_unusable_cost_is_refused_without_echoing_the_hash(app_context, runner, tmp_path):
    costly = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$" + "A" * 43
    result = _import(
        runner, write_lines(tmp_path / "c.jsonl", [{"email": "c@x.io", "passwordHash": costly}])
    )

    assert result.exit_code == 1
    assert "line 1: passwordHash: argon2 cost must be at most" in result.output
    assert costly not in result.output


def test_an_email_taken_during_the_import_refuses_it_cleanly(
    app_context, runner, tmp_path, monkeypatch
):
    """As when a registration commits the same email after the import read it as free."""
    from app.core.accounts import user_import

    make_user(email=LEGACY[0].email)
    monkeypatch.setattr(user_import, "_existing_by_email", lambda emails: {})
    before = _user_count()

    result = _import(runner, write_lines(tmp_path / "race.jsonl", [u.line() for u in LEGACY[:3]]))

    assert result.exit_code == 1
    assert "taken during the import" in result.output
    assert "Traceback" not in result.output
    assert _user_count() == before


def test_a_terminal_sees_a_progress_bar_and_the_summary_last(app, database_url, tmp_path):
    """Through the real command on a pseudo-terminal, as an operator runs it."""
    import pty
    import subprocess
    import sys

    path = write_lines(tmp_path / "bar.jsonl", [user.line() for user in LEGACY[:2]])
    controller, terminal = pty.openpty()
    env = os.environ | {"APP_ENV": "testing", "DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "import", str(path)],
        stderr=terminal, stdout=subprocess.PIPE, env=env, text=True, timeout=60, check=False,
    )  # fmt: skip
    os.close(terminal)
    shown = os.read(controller, 65536).decode()
    os.close(controller)

    assert done.returncode == 0, shown
    assert "Importing" in shown and "100%" in shown
    assert done.stdout.strip().splitlines()[-1].startswith("Imported 2 users from bar.jsonl")


def test_a_file_that_is_not_utf8_is_refused_in_one_line(app_context, runner, tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"email": "ok@legacy.example"}\n{"email": "caf\xe9@legacy.example"}\n')

    result = _import(runner, path)

    assert result.exit_code == 1
    assert "Error: the file is not UTF-8 text: nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert _stored("ok@legacy.example") is None


def test_update_never_undoes_a_password_set_while_the_import_runs(
    app_context, runner, tmp_path, monkeypatch
):
    """As when a reset commits between the batch's read of the account and its write."""
    from app.core.accounts import user_import
    from app.core.passwords.security import hash_password

    user = LEGACY[0]
    _import(runner, write_lines(tmp_path / "first.jsonl", [user.line()]))
    read_accounts = user_import._existing_by_email
    reset_hash = hash_password("reset meanwhile pw")

    def read_then_reset(emails):
        found = read_accounts(emails)
        db.session.execute(
            db.update(User).where(User.email == user.email).values(password_hash=reset_hash)
        )
        return found

    monkeypatch.setattr(user_import, "_existing_by_email", read_then_reset)
    again = [user.line(passwordHash=LEGACY[1].password_hash, displayName="Renamed")]

    result = _import(runner, write_lines(tmp_path / "again.jsonl", again), "--update")

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert (_stored(user.email).password_hash, _stored(user.email).display_name) == (
        reset_hash,
        "Renamed",
    )


def test_an_imported_user_changes_the_password_with_the_old_one(app_context, runner, tmp_path):
    user = next(u for u in LEGACY if u.scheme == "sha256")
    _import(runner, write_lines(tmp_path / "one.jsonl", [user.line()]))

    accounts.change_password(
        caller=signed_in_caller(_stored(user.email)),
        current_password=user.password,
        new_password="a brand new passphrase",
    )

    assert authentication.authenticate(identifier=user.email, password="a brand new passphrase")


def test_export_refuses_an_existing_path_without_force(app_context, runner, tmp_path):
    make_user()
    target = tmp_path / "taken.jsonl"
    target.write_text("someone else's file\n")

    result = runner.invoke(args=["users", "export", str(target)])

    assert result.exit_code == 1
    assert f"Error: {target} exists; --force replaces it." in result.output
    assert target.read_text() == "someone else's file\n"
    assert os.listdir(tmp_path) == ["taken.jsonl"]  # nothing left behind


def test_export_never_writes_through_a_link_planted_at_its_path(app_context, runner, tmp_path):
    """A link at the path (to a file another user can read, or one the service must not
    overwrite) is refused, and with --force replaced by a new 0600 file; what it pointed to
    is untouched."""
    user = make_user()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not overwrite\n")
    target = tmp_path / "export.jsonl"
    target.symlink_to(victim)

    refused = runner.invoke(args=["users", "export", str(target)])
    forced = runner.invoke(args=["users", "export", "--force", str(target)])

    assert refused.exit_code == 1
    assert forced.exit_code == 0, forced.output
    assert victim.read_text() == "do not overwrite\n"
    assert not target.is_symlink()
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o600
    assert user.email in target.read_text()


def test_export_with_force_replaces_a_file_whole_and_private(app_context, runner, tmp_path):
    make_user()
    target = tmp_path / "export.jsonl"
    target.write_text("old\n")
    os.chmod(target, 0o644)

    result = runner.invoke(args=["users", "export", "--force", str(target)])

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert "old" not in target.read_text()
    assert sorted(os.listdir(tmp_path)) == ["export.jsonl"]


def test_a_deeply_nested_line_is_a_line_error_not_a_traceback(app_context, runner, tmp_path):
    path = tmp_path / "nested.jsonl"
    path.write_text('{"email": ' + "[" * 100_000 + "]" * 100_000 + "}\n")

    result = _import(runner, path)

    assert result.exit_code == 1
    assert "line 1: line: Nested too deeply." in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, RecursionError)
