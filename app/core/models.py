"""Tables of the auth core: columns, relationships and constraints only."""

from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import Dialect
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import TypeDecorator
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.core.clock import utcnow
from app.database import Model
from app.database import db


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so add it back on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


user_roles = Table(
    "user_roles",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
)

role_permissions = Table(
    "role_permissions",
    db.metadata,
    Column("role_id", ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True),
    Column("permission_id", ForeignKey("permissions.id", ondelete="CASCADE"), primary_key=True),
)


class Permission(Model):
    __tablename__ = "permissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Role(Model):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    permissions: Mapped[list[Permission]] = relationship(
        secondary=role_permissions, order_by=Permission.name
    )


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    # Stored lower-cased, so uniqueness and lookups are case-insensitive on every backend.
    # None: an account made by an OpenID provider that did not verify the address it gave,
    # which therefore claims no address (its owner may register it).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(150))
    social_links: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_id: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the owner proved the address by a mailed token (None: not yet).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Registered as admin with a whitelisted address while admins need a verified email:
    # becomes admin when the address is verified.
    admin_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Second-factor codes that failed in a row (app/core/factors/mfa_lock.py): at
    # AUTH_MFA_MAX_FAILURES the account's second step is locked until a password reset or an
    # admin clears it.
    mfa_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The language the account's mails are written in (a BCP 47 tag such as "pt-BR"), where
    # a translation exists; None: the default language.
    locale: Mapped[str | None] = mapped_column(String(35))
    # When a session last opened for the account (any way in); None: never.
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[Role]] = relationship(secondary=user_roles, order_by=Role.id)

    @property
    def role_names(self) -> list[str]:
        return [role.name for role in self.roles]

    @property
    def permission_names(self) -> list[str]:
        return sorted({perm.name for role in self.roles for perm in role.permissions})


class ApiClient(Model):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(150))
    key_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How many times the key was replaced; a client token carries the version it was minted
    # under ("kv"), and only the current version's tokens work.
    key_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AdminWhitelistEntry(Model):
    __tablename__ = "admin_whitelist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SignInSession(Model):
    """One login: the family of refresh tokens that descend from it."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    dialect: Mapped[str] = mapped_column(String(32))
    refresh_jti: Mapped[str | None] = mapped_column(String(36))
    refresh_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_refresh_jti: Mapped[str | None] = mapped_column(String(36))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The sliding expiry never passes this (AUTH_SESSION_MAX_AGE after login).
    absolute_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip: Mapped[str | None] = mapped_column(String(64))
    # "browser" (the refresh token in a cookie) or "native" (in the body), and the name a
    # native app gave its device ("Ada's iPhone").
    client_type: Mapped[str] = mapped_column(
        String(16), default="browser", server_default="browser"
    )
    device_name: Mapped[str | None] = mapped_column(String(100))
    # How the login proved who it was (RFC 8176 values, space-separated: "pwd", "pwd otp mfa");
    # every access token of the session carries it as "amr". None: opened before it was kept.
    amr: Mapped[str | None] = mapped_column(String(64))
    # The holder's latest proof of who they are (the login, a reauthentication, or a password
    # or code brought along with a sensitive action), how it was made (RFC 8176 values), and
    # the latest proof that was a second factor: what the step-up rule reads
    # (app/core/factors/step_up.py). Access tokens carry the first as "auth_time".
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    auth_methods: Mapped[str] = mapped_column(String(64), default="pwd")
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Model):
    """A single token revoked before its expiry (the rest of its session may live on)."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountToken(Model):
    """A single-use token mailed to a user (password reset, email verification, email
    change); only its SHA-256 is stored."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An email change's new address: the one its confirmation sets.
    email: Mapped[str | None] = mapped_column(String(254))


class TotpFactor(Model):
    """A user's TOTP authenticator (RFC 6238): on once confirmed with a first code."""

    __tablename__ = "totp_factors"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The base32 secret, encrypted with AUTH_MFA_ENCRYPTION_KEY (app/core/secret_box.py).
    sealed_secret: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time step of the last code accepted: no code of that step or an earlier one works.
    last_used_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(Model):
    """A single-use code that stands in for the second factor; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MfaChallenge(Model):
    """A login whose password was right, waiting for its second factor: the mfaToken, of which
    only the SHA-256 is stored, good for a few tries until it expires or is used."""

    __tablename__ = "mfa_challenges"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    dialect: Mapped[str] = mapped_column(String(32))
    # How the first step proved who it was: "pwd", or "fed" after an OpenID provider.
    first_factor: Mapped[str] = mapped_column(String(8), default="pwd", server_default="pwd")
    # The device name the login named, for the session the second step opens.
    device_name: Mapped[str | None] = mapped_column(String(100))
    tries_left: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Passkey(Model):
    """A WebAuthn credential of a user: its public key, never a secret."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url, as WebAuthn JSON spells them.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    user_handle: Mapped[str] = mapped_column(String(64))
    # Authenticators count to 2**32 - 1, beyond an Integer.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # Synced between devices (a "multi-device" passkey): amr "swk" rather than "hwk".
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    transports: Mapped[list[str] | None] = mapped_column(JSON)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebAuthnChallenge(Model):
    """The challenge of one WebAuthn ceremony, good once until it expires."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge: Mapped[str] = mapped_column(String(128), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Registration: the user handle the new passkey is created under.
    user_handle: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcIdentity(Model):
    """An account at an OpenID provider linked to a user: keyed by the provider's issuer and
    its subject, never by email."""

    __tablename__ = "oidc_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The name in AUTH_OIDC_PROVIDERS it was linked through.
    provider: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    # The address the provider gave at the last sign-in, shown in the list of identities.
    email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SpentOidcProof(Model):
    """A one-time proof already used: an ID token exchanged by a native app, or the state of
    a finished web sign-in. Only its SHA-256 is kept, until it would have expired anyway."""

    __tablename__ = "oidc_spent_proofs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuthEvent(Model):
    """One auth event, kept for audit. No foreign keys: events outlive deleted users."""

    __tablename__ = "auth_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The user an admin's action changed (user_updated, user_deleted); user_id is the admin.
    target_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    client_id: Mapped[str | None] = mapped_column(String(64))
    session_id: Mapped[str | None] = mapped_column(String(36))
    dialect: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    # None is SQL NULL, as a statement that names no details stores it (refreshes.py).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    # Events by kind and time, with the outcome, for the audit log's filters and the
    # dashboard's counts (migration 0015).
    __table_args__ = (Index("ix_auth_events_event_time", "event", "occurred_at", "outcome"),)


class OutboxMail(Model):
    """A mail to send (app/core/mail/outbox.py), written in the transaction that caused it
    and kept until it is sent or given up on.

    A job (``job`` set) is a mail that decides when it is sent whether it exists at all: the
    answer to a reset request does not wait for, or tell, whether the account exists.
    ``next_attempt_at`` is also the claim: a sender moves it past the time its attempt may
    take, so a sender that dies leaves the mail due again once that time has passed."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The same Message-ID and Date on every attempt: a mail sent twice is seen as one.
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    job: Mapped[str | None] = mapped_column(String(40))
    template: Mapped[str | None] = mapped_column(String(40))
    recipient: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str | None] = mapped_column(String(35))
    # What the template (or the job) needs; emptied once the mail is sent or given up on,
    # since a pending reset mail's context holds its live token.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The class of the last error (never its text: an SMTP reply may quote the message).
    last_error: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_mail_outbox_due", "state", "next_attempt_at"),)


class WebhookEndpoint(Model):
    """A URL that receives the events it subscribes to (app/core/hooks/), signed with its
    secret the Standard Webhooks way."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(255))
    # Event types, or ["*"] for all of them.
    events: Mapped[list[str]] = mapped_column(JSON)
    # Indexed: every transaction that emits an event looks the enabled endpoints up.
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # The signing secret (whsec_...) sealed with AUTH_MFA_ENCRYPTION_KEY's keys
    # (app/core/secret_box.py); after a rotation, the previous one also signs until
    # previous_secret_until.
    sealed_secret: Mapped[str] = mapped_column(String(512))
    sealed_previous_secret: Mapped[str | None] = mapped_column(String(512))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Since when every delivery to it has failed (None: the last one succeeded); at
    # AUTH_WEBHOOK_DISABLE_AFTER_SECONDS it is disabled and the admins are mailed.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Model):
    """One event on its way to one endpoint, written in the transaction that caused the
    event. ``next_attempt_at`` is also the claim, as in the mail outbox: a sender moves it
    past the time its attempt may take."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    # The webhook-id header: the same on every attempt, so a receiver drops a repeat.
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The receiver's HTTP status, or None when none came (refused, timed out).
    last_status: Mapped[int | None] = mapped_column(Integer)
    # What went wrong, in a word or a class name (never the receiver's body).
    last_error: Mapped[str | None] = mapped_column(String(100))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)
