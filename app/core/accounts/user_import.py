"""Users in and out: accounts as JSON Lines, with the password hashes of the systems they
come from (``flask users import|export``).

An import is one transaction, read and written in batches: nothing is kept but the emails and
usernames seen so far. Unless ``skip_invalid``, one bad line refuses the whole file and nothing
is written. A problem names its line and field, never a value from it (a hash least of all).
Weak hashes are wrapped before they are written (app/core/passwords/foreign_hashes.py), on
every core.
"""

import json
import os
import secrets
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from itertools import islice
from typing import Any

from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.core import clock
from app.core import roles
from app.core.accounts import accounts
from app.core.audit import audit
from app.core.bounds import MAX_INTEGER
from app.core.errors import RegistrationRejectedError
from app.core.hooks import auth_hooks
from app.core.hooks import events
from app.core.identities import MAX_EMAIL_LENGTH
from app.core.identities import canonical_email
from app.core.identities import is_valid_username
from app.core.identities import normalize_username
from app.core.identities import username_from_email
from app.core.models import Role
from app.core.models import User
from app.core.models import user_roles
from app.core.passwords import foreign_hashes
from app.core.passwords.security import LegacyWrapper
from app.core.passwords.security import is_service_hash
from app.core.passwords.security import legacy_wrapper
from app.core.passwords.security import unusable_password
from app.core.passwords.security import wrapped_length
from app.core.sessions import sessions
from app.database import db

BATCH_SIZE = 1000
MAX_STORED_HASH = 255
USERNAME_RULE = "A username is 3 to 150 of a-z, 0-9, '_', '.' or '-'."
HASH_SCHEMES = (*foreign_hashes.FORMATS, foreign_hashes.WRAPPED)


class UserLineSchema(Schema):
    """One line of the file, for import and export alike."""

    class Meta:
        unknown = RAISE
        ordered = True

    email = fields.String(required=True, validate=validate.Length(max=MAX_EMAIL_LENGTH))
    username = fields.String(validate=validate.Length(max=150))
    password_hash = fields.String(data_key="passwordHash", validate=validate.Length(max=1024))
    hash_scheme = fields.String(data_key="hashScheme", validate=validate.OneOf(HASH_SCHEMES))
    roles = fields.List(
        fields.String(validate=validate.Length(max=50)), validate=validate.Length(max=50)
    )
    display_name = fields.String(
        data_key="displayName", validate=validate.Length(max=150), allow_none=True
    )
    first_name = fields.String(
        data_key="firstName", validate=validate.Length(max=100), allow_none=True
    )
    last_name = fields.String(
        data_key="lastName", validate=validate.Length(max=100), allow_none=True
    )
    client_id = fields.Integer(
        data_key="clientId", strict=True, validate=validate.Range(0, MAX_INTEGER), allow_none=True
    )
    email_verified = fields.Boolean(data_key="emailVerified")
    is_active = fields.Boolean(data_key="isActive")
    created_at = fields.DateTime(data_key="createdAt")


_LINE = UserLineSchema()


@dataclass(frozen=True)
class LineProblem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass(frozen=True)
class ImportOptions:
    source: str
    update: bool = False
    skip_invalid: bool = False
    dry_run: bool = False
    batch_size: int = BATCH_SIZE


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    # Existing accounts whose password was set here: --update keeps it.
    kept_passwords: int = 0
    problems: list[LineProblem] = field(default_factory=list)

    @property
    def invalid_lines(self) -> int:
        return len({problem.line for problem in self.problems})


class ImportRefused(Exception):
    """The file (or the state it would leave) is refused; nothing was written."""

    def __init__(self, report: ImportReport, reason: str) -> None:
        super().__init__(reason)
        self.report = report
        self.reason = reason


@dataclass
class _Account:
    """A valid line: what the account should be, and its stored password value."""

    line: int
    email: str
    username: str | None
    password: str | None
    fmt: foreign_hashes.HashFormat | None
    role_names: list[str]
    data: dict[str, Any]


@dataclass(frozen=True)
class _Current:
    id: int
    username: str
    password_hash: str


def import_users(
    lines: Iterable[str], options: ImportOptions, *, progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Read ``lines`` (JSON Lines) and create their accounts; see the module's docstring.
    Raises ImportRefused when nothing may be written; the report says what was found."""
    importer = _Importer(options)
    numbered = enumerate(lines, start=1)
    try:
        while batch := tuple(islice(numbered, options.batch_size)):
            importer.take(batch)
            if progress is not None:
                progress(len(batch))
        return importer.finish()
    except IntegrityError:
        db.session.rollback()
        # Read as free in this transaction, written meanwhile by another.
        raise ImportRefused(
            importer.report,
            "an email or username was taken during the import (a registration "
            "or another import); run it again",
        ) from None
    except UnicodeDecodeError:
        db.session.rollback()
        raise ImportRefused(importer.report, "the file is not UTF-8 text") from None


class _Importer:
    def __init__(self, options: ImportOptions) -> None:
        _prepare_bulk_transaction()
        self.options = options
        self.report = ImportReport()
        self.role_ids = dict(db.session.execute(select(Role.name, Role.id)).all())
        self.emails_seen: dict[str, int] = {}
        self.usernames_seen: dict[str, int] = {}
        self.wrap: LegacyWrapper = legacy_wrapper()
        self.deactivated: list[int] = []
        self.active_admins_before = accounts.count_active_admins()
        self.changed_admin_power = False

    @property
    def writing(self) -> bool:
        refused = self.report.problems and not self.options.skip_invalid
        return not self.options.dry_run and not refused

    def take(self, batch: tuple[tuple[int, str], ...]) -> None:
        accounts = [account for number, text in batch if (account := self._parse(number, text))]
        existing = _existing_by_email([account.email for account in accounts])
        taken = _taken_usernames([a.username for a in accounts if a.username is not None])
        new: list[_Account] = []
        updates: list[tuple[_Account, _Current]] = []
        for account in accounts:
            current = existing.get(account.email)
            if current is not None and not self.options.update:
                self.report.skipped += 1
            elif not self._username_free(account, current, taken):
                continue
            elif current is None:
                if self._allowed_by_hook(account):
                    new.append(account)
            else:
                updates.append((account, current))
        self._count(new, updates)
        if not self.writing:
            return
        self._wrap_weak_hashes(new + [account for account, _ in updates])
        self._create(new)
        for account, current in updates:
            self._update(account, current)

    def _allowed_by_hook(self, account: _Account) -> bool:
        """The BEFORE_USER_CREATED hook's decision on a new account: a refusal is a problem
        of its line; a failed hook refuses the import (hooks fail closed)."""
        try:
            auth_hooks.before_user_created(
                email=account.email, username=account.username or "", source="import"
            )
        except RegistrationRejectedError as error:
            self._problem(account.line, "email", error.message)
            return False
        return True

    def finish(self) -> ImportReport:
        if self.report.problems and not self.options.skip_invalid:
            db.session.rollback()
            raise ImportRefused(self.report, f"{self.report.invalid_lines} invalid lines")
        if self.options.dry_run:
            db.session.rollback()
            return self.report
        if (
            self.changed_admin_power
            and self.active_admins_before
            and not accounts.count_active_admins()
        ):
            db.session.rollback()
            raise ImportRefused(self.report, "the service must keep at least one active admin")
        for user_id in self.deactivated:
            sessions.end_user_sessions(user_id=user_id)
        db.session.commit()
        return self.report

    def _count(self, new: list[_Account], updates: list[tuple[_Account, _Current]]) -> None:
        self.report.created += len(new)
        self.report.updated += len(updates)
        self.report.kept_passwords += sum(
            1
            for account, current in updates
            if account.password is not None and is_service_hash(current.password_hash)
        )

    def _parse(self, number: int, text: str) -> _Account | None:
        if not text.strip():
            return None
        try:
            data = _LINE.load(json.loads(text))
        except (ValueError, TypeError, RecursionError) as error:
            self._problem(number, "line", _json_problem(error))
            return None
        except ValidationError as error:
            for name, messages in _flat_messages(error.messages):
                self._problem(number, name, messages)
            return None
        return self._checked(number, data)

    def _checked(self, number: int, data: dict[str, Any]) -> _Account | None:
        problems = len(self.report.problems)
        email = canonical_email(data["email"]) or ""
        if not email:
            self._problem(number, "email", "Not a valid email address.")
        elif email in self.emails_seen:
            self._problem(number, "email", f"The same email as line {self.emails_seen[email]}.")
        username = self._username(number, data.get("username"))
        password, fmt = self._password(number, data)
        role_names = data.get("roles") or [roles.USER]
        unknown = sorted(set(role_names) - set(self.role_ids))
        if unknown:
            self._problem(number, "roles", f"Unknown roles: {', '.join(unknown)}.")
        if len(self.report.problems) > problems:
            return None
        self.emails_seen[email] = number
        return _Account(number, email, username, password, fmt, role_names, data)

    def _username(self, number: int, given: str | None) -> str | None:
        if given is None:
            return None
        username = normalize_username(given)
        if not is_valid_username(username):
            self._problem(number, "username", USERNAME_RULE)
        elif username in self.usernames_seen:
            line = self.usernames_seen[username]
            self._problem(number, "username", f"The same username as line {line}.")
        else:
            self.usernames_seen[username] = number
        return username

    def _password(
        self, number: int, data: dict[str, Any]
    ) -> tuple[str | None, foreign_hashes.HashFormat | None]:
        """The value to store, and the format to wrap it in when it is too weak to keep."""
        value, scheme = data.get("password_hash"), data.get("hash_scheme")
        if value is None:
            if scheme is not None:
                self._problem(number, "hashScheme", "Given without a passwordHash.")
            return None, None
        try:
            return _stored_password(value, scheme)
        except ValueError as error:
            self._problem(number, "passwordHash", str(error))
            return None, None

    def _username_free(
        self, account: _Account, current: _Current | None, taken: dict[str, int]
    ) -> bool:
        owner = taken.get(account.username) if account.username else None
        if owner is not None and (current is None or owner != current.id):
            self._problem(account.line, "username", "Taken by another account.")
            return False
        return True

    def _wrap_weak_hashes(self, accounts: list[_Account]) -> None:
        weak = [(a.fmt, a.password, a) for a in accounts if a.fmt and a.password]
        if not weak:
            return
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            wrapped = pool.map(lambda job: self.wrap(job[0], job[1]), weak)
            for (_, _, account), value in zip(weak, wrapped, strict=True):
                account.password, account.fmt = value, None

    def _create(self, accounts: list[_Account]) -> None:
        if not accounts:
            return
        unnamed = [account for account in accounts if account.username is None]
        usernames = _free_usernames(unnamed, self.usernames_seen)
        rows = [_new_user_row(account, usernames) for account in accounts]
        ids = db.session.scalars(
            insert(User).returning(User.id, sort_by_parameter_order=True), rows
        ).all()
        grants = [
            {"user_id": user_id, "role_id": self.role_ids[name]}
            for user_id, account in zip(ids, accounts, strict=True)
            for name in dict.fromkeys(account.role_names)
        ]
        db.session.execute(insert(user_roles), grants)
        for user_id in ids:
            events.emit("user.created", user=user_id)
        self._audit(ids, created=True)
        self.changed_admin_power = self.changed_admin_power or any(
            roles.ADMIN in account.role_names for account in accounts
        )

    def _update(self, account: _Account, current: _Current) -> None:
        user = db.session.get(User, current.id, options=[selectinload(User.roles)])
        assert user is not None
        data = account.data
        if account.username is not None:
            user.username = account.username
        for name in ("display_name", "first_name", "last_name", "client_id"):
            if name in data:
                setattr(user, name, data[name])
        if "email_verified" in data:
            verified_at = user.email_verified_at or clock.utcnow()
            user.email_verified_at = verified_at if data["email_verified"] else None
        if "roles" in data:
            user.roles = roles.find_roles(data["roles"])
            self.changed_admin_power = True
        if "is_active" in data:
            if user.is_active and not data["is_active"]:
                self.deactivated.append(user.id)
                self.changed_admin_power = True
            user.is_active = data["is_active"]
        db.session.flush()
        if account.password is not None and not is_service_hash(current.password_hash):
            # Only over the hash read for this batch: a reset or first login that commits
            # meanwhile set a password here, which the file must not undo.
            db.session.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == current.password_hash)
                .values(password_hash=account.password)
                .execution_options(synchronize_session=False)
            )
        self._audit([user.id], created=False)

    def _audit(self, user_ids: Sequence[int], *, created: bool) -> None:
        details = {"file": self.options.source} | ({} if created else {"updated": True})
        audit.stage_events(event="user_imported", user_ids=user_ids, details=details)

    def _problem(self, number: int, name: str, message: str) -> None:
        self.report.problems.append(LineProblem(number, name, message))


def _stored_password(
    value: str, scheme: str | None
) -> tuple[str, foreign_hashes.HashFormat | None]:
    """Raise ValueError (a message without the value) unless ``value`` is a hash to keep."""
    if scheme == foreign_hashes.SHA256:
        value = value.lower()
    if scheme == foreign_hashes.WRAPPED or (scheme is None and foreign_hashes.is_wrapped(value)):
        if foreign_hashes.wrapped_parts(value) is None or len(value) > MAX_STORED_HASH:
            raise ValueError("Not a valid wrapped hash of this service.")
        return value, None
    fmt = foreign_hashes.recognise(value, scheme=scheme)
    if fmt is None:
        raise ValueError("Not a recognised password hash format (see the README's formats table).")
    if scheme is not None and scheme != fmt.name:
        raise ValueError(f"A {fmt.name} hash, not {scheme}.")
    try:
        strong = fmt.is_strong(value)
    except foreign_hashes.UnusableHashError as error:
        raise ValueError(str(error)) from None
    if (len(value) if strong else wrapped_length(fmt, value)) > MAX_STORED_HASH:
        raise ValueError(f"Too long to store in {MAX_STORED_HASH} characters.")
    return value, None if strong else fmt


def _new_user_row(account: _Account, usernames: dict[int, str]) -> dict[str, Any]:
    data, now = account.data, clock.utcnow()
    created_at = _utc(data["created_at"]) if "created_at" in data else now
    return {
        "email": account.email,
        "username": account.username or usernames[account.line],
        "password_hash": account.password or unusable_password(),
        "display_name": data.get("display_name"),
        "first_name": data.get("first_name"),
        "last_name": data.get("last_name"),
        "client_id": data.get("client_id"),
        "social_links": {},
        "is_active": data.get("is_active", True),
        "created_at": created_at,
        "updated_at": now,
        "email_verified_at": now if data.get("email_verified") else None,
        "admin_requested": False,
    }


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _prepare_bulk_transaction() -> None:
    """PostgreSQL settings for this one transaction. The planner's statistics never see the
    rows it adds, so the batches' lookups (email IN (...), 1,000 values) would scan the
    growing table once per value: at 100,000 users, seconds a batch. And an operator's bulk
    job is not a request: the requests' statement timeout (DATABASE_STATEMENT_TIMEOUT_MS)
    does not apply."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL statement_timeout = '10min'"))


def _existing_by_email(emails: list[str]) -> dict[str, _Current]:
    if not emails:
        return {}
    rows = db.session.execute(
        select(User.email, User.id, User.username, User.password_hash).where(User.email.in_(emails))
    ).all()
    return {
        email: _Current(user_id, name, stored)
        for email, user_id, name, stored in rows
        if email is not None
    }


def _taken_usernames(usernames: list[str]) -> dict[str, int]:
    if not usernames:
        return {}
    rows = db.session.execute(select(User.username, User.id).where(User.username.in_(usernames)))
    return {username: user_id for username, user_id in rows}


def _free_usernames(accounts: list[_Account], seen: dict[str, int]) -> dict[int, str]:
    """A username for each account without one, from its email, unique in the file and table."""
    bases = {account.line: username_from_email(account.email) for account in accounts}
    wanted = dict(bases)
    chosen: dict[int, str] = {}
    while wanted:
        taken = set(_taken_usernames(list(set(wanted.values()))))
        for line, candidate in list(wanted.items()):
            if candidate in taken or candidate in seen:
                wanted[line] = f"{bases[line]}{secrets.randbelow(10**6)}"
                continue
            seen[candidate] = line
            chosen[line] = wanted.pop(line)
    return chosen


def _json_problem(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "Nested too deeply."
    if isinstance(error, json.JSONDecodeError):
        return f"Not valid JSON ({error.msg}, column {error.colno})."
    return "Not valid JSON."


def _flat_messages(messages: Any) -> Iterator[tuple[str, str]]:
    """marshmallow's messages as (field, text); a list field's item errors join into one."""
    if not isinstance(messages, dict):
        yield "line", " ".join(_texts(messages))
        return
    for name, inner in messages.items():
        yield ("line" if name == "_schema" else str(name)), " ".join(_texts(inner))


def _texts(messages: Any) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [text for inner in messages.values() for text in _texts(inner)]
    return [text for inner in messages for text in _texts(inner)]


def export_users(write: Callable[[str], object]) -> int:
    """Write every account with an address as one JSON line, with the service's hashes;
    return how many. (An account an OpenID provider made without a verified address has none
    to import it by: it signs in through its provider.)"""
    count = 0
    query = (
        select(User)
        .where(User.email.is_not(None))
        .options(selectinload(User.roles))
        .order_by(User.id)
    )
    for user in db.session.scalars(query.execution_options(yield_per=BATCH_SIZE)):
        write(json.dumps(_exported(user), ensure_ascii=False) + "\n")
        count += 1
    return count


def _exported(user: User) -> dict[str, Any]:
    line: dict[str, Any] = {"email": user.email, "username": user.username}
    if not user.password_hash.startswith(foreign_hashes.UNUSABLE_PREFIX):
        line["passwordHash"] = user.password_hash
    line |= {
        "roles": user.role_names,
        "displayName": user.display_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "clientId": user.client_id,
        "emailVerified": user.email_verified_at is not None,
        "isActive": user.is_active,
        "createdAt": _utc(user.created_at).isoformat().replace("+00:00", "Z"),
    }
    return line
