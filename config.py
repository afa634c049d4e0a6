"""Configuration: one class per APP_ENV, every value read from the environment.

The service's own keys are documented once, in the README's Configuration table.
"""

import os
from typing import Any
from typing import ClassVar

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def _env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _env_bool(name: str, default: bool) -> bool:
    """The variable as a boolean; anything but true/false, 1/0, yes/no or on/off stops the
    process with one line (AUTH_COOKIE_SECURE=ture must not quietly mean false)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in _TRUE | _FALSE:
        raise SystemExit(f"authsvc: refusing to start: {name} must be true or false")
    return value in _TRUE


def _env_int(name: str, default: int) -> int:
    return int(_env_number(name, default, int))


def _env_float(name: str, default: float) -> float:
    return _env_number(name, default, float)


def _env_number(name: str, default: float, kind: type[int] | type[float]) -> float:
    """The variable as a number; a value that is not one stops the process with one line
    that names the variable (this runs at import, before the app's own startup checks)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise SystemExit(f"authsvc: refusing to start: {name} must be {noun}") from None


class Config:
    APP_ENV = "production"
    TESTING = False
    DEBUG = _env_bool("FLASK_DEBUG", False)
    SECRET_KEY = os.environ.get("SECRET_KEY")

    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    # Connection pool (PostgreSQL): sized per worker process; see the README's deployment notes.
    DATABASE_POOL_SIZE = _env_int("DATABASE_POOL_SIZE", 5)
    DATABASE_MAX_OVERFLOW = _env_int("DATABASE_MAX_OVERFLOW", 5)
    DATABASE_POOL_RECYCLE = _env_int("DATABASE_POOL_RECYCLE", 1800)
    DATABASE_POOL_TIMEOUT = _env_int("DATABASE_POOL_TIMEOUT", 5)
    # A pooled connection idle this long is pinged before use (0: before every use).
    DATABASE_PING_AFTER_IDLE_SECONDS = _env_int("DATABASE_PING_AFTER_IDLE_SECONDS", 10)
    # How long to wait for the database before answering 503 rather than hanging.
    DATABASE_CONNECT_TIMEOUT = _env_int("DATABASE_CONNECT_TIMEOUT", 3)
    DATABASE_STATEMENT_TIMEOUT_MS = _env_int("DATABASE_STATEMENT_TIMEOUT_MS", 5000)
    MAX_CONTENT_LENGTH = 64 * 1024

    # Signing keys (app/core/tokens/keys.py; README "Signing keys and rotation").
    # HS256 signs with JWT_SECRET_KEY; RS256, ES256 and EdDSA with a private key.
    JWT_ALGORITHM = os.environ.get("JWT_ALGORITHM", "HS256")
    JWT_SECRET_KEY = os.environ.get("JWT_SECRET_KEY")
    JWT_PRIVATE_KEY = os.environ.get("JWT_PRIVATE_KEY")
    JWT_PRIVATE_KEY_FILE = os.environ.get("JWT_PRIVATE_KEY_FILE")
    # Public keys (PEM files, or directories of them) whose tokens are still accepted.
    JWT_VERIFY_KEYS = _env_list("JWT_VERIFY_KEYS")
    # When set, every token carries them and tokens without them are refused.
    JWT_ISSUER = os.environ.get("JWT_ISSUER") or None
    JWT_AUDIENCE = _env_list("JWT_AUDIENCE")
    # How long clients may cache GET /.well-known/jwks.json.
    JWKS_MAX_AGE_SECONDS = _env_int("JWKS_MAX_AGE_SECONDS", 5 * MINUTE)
    # Tokens whose signature each worker remembers as checked (app/core/tokens/verifier.py).
    AUTH_VERIFIED_TOKEN_CACHE_SIZE = _env_int("AUTH_VERIFIED_TOKEN_CACHE_SIZE", 2048)
    JWT_TOKEN_LOCATION: ClassVar[list[str]] = ["headers"]
    JWT_ENCODE_NBF = True
    # The refresh cookie is guarded by SameSite=Strict and an Origin check (app/api/origin.py).
    JWT_COOKIE_CSRF_PROTECT = False

    # Empty means every dialect the service has.
    AUTH_DIALECTS = _env_list("AUTH_DIALECTS")
    AUTH_COOKIE_SECURE = _env_bool("AUTH_COOKIE_SECURE", True)
    ADMIN_EMAIL_WHITELIST = _env_list("ADMIN_EMAIL_WHITELIST")
    CORS_ORIGINS = _env_list("CORS_ORIGINS")
    AUTH_PASSWORD_HASH_METHOD = os.environ.get("AUTH_PASSWORD_HASH_METHOD", "scrypt")
    # Checks of password hashes made elsewhere (imported) that one worker runs at once.
    AUTH_FOREIGN_HASH_CHECKS_AT_ONCE = _env_int("AUTH_FOREIGN_HASH_CHECKS_AT_ONCE", 2)
    AUTH_PASSWORD_MIN_LENGTH = _env_int("AUTH_PASSWORD_MIN_LENGTH", 8)
    AUTH_PASSWORD_MAX_LENGTH = _env_int("AUTH_PASSWORD_MAX_LENGTH", 128)
    AUTH_REFRESH_REUSE_GRACE_SECONDS = _env_int("AUTH_REFRESH_REUSE_GRACE_SECONDS", 10)
    # However often it refreshes, a session ends this long after its login (RFC 9700 4.14.2).
    AUTH_SESSION_MAX_AGE = _env_int("AUTH_SESSION_MAX_AGE", 30 * DAY)
    # `flask tokens purge` deletes audit events older than this.
    AUTH_AUDIT_RETENTION_DAYS = _env_int("AUTH_AUDIT_RETENTION_DAYS", 90)
    # Audit rows are stored in batches off the request path (their log lines at once).
    AUTH_AUDIT_BATCHED = _env_bool("AUTH_AUDIT_BATCHED", True)
    AUTH_AUDIT_FLUSH_SECONDS = _env_float("AUTH_AUDIT_FLUSH_SECONDS", 0.1)
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)

    # Mail (app/core/mail/mail.py): smtp://user:password@host:port[?starttls=true], smtps://...,
    # console:// (development), or empty: nothing is sent.
    MAIL_URL = os.environ.get("MAIL_URL", "")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Auth Service <no-reply@localhost>")
    MAIL_TIMEOUT = _env_int("MAIL_TIMEOUT", 10)
    MAIL_SEND_IN_BACKGROUND = _env_bool("MAIL_SEND_IN_BACKGROUND", True)
    # The outbox (app/core/mail/outbox.py): a mail not yet sent is tried again after 10 s,
    # 20 s, 40 s... (at most MAIL_BACKOFF_MAX_SECONDS apart) until MAIL_RETRY_SECONDS after it
    # was written; each worker looks for due mail every MAIL_POLL_SECONDS.
    MAIL_RETRY_SECONDS = _env_int("MAIL_RETRY_SECONDS", 2 * DAY)
    MAIL_BACKOFF_MAX_SECONDS = _env_int("MAIL_BACKOFF_MAX_SECONDS", 30 * MINUTE)
    MAIL_POLL_SECONDS = _env_float("MAIL_POLL_SECONDS", 5.0)
    # A folder of the operator's own mail templates (<language>/<mail>.subject|txt|html),
    # each used instead of the shipped one of the same name (app/core/mail/templates/).
    MAIL_TEMPLATES_DIR = os.environ.get("MAIL_TEMPLATES_DIR", "")
    # Where the links in mails point: the frontend's /reset-password and /verify-email pages.
    # Production refuses to start without it (mailed links must not point at localhost).
    AUTH_FRONTEND_URL = os.environ.get("AUTH_FRONTEND_URL", "")
    # The service's own external base URL (https://auth.example.com): OpenID providers send
    # browsers back to it. Production refuses to start with providers and without it.
    AUTH_PUBLIC_URL = os.environ.get("AUTH_PUBLIC_URL", "")
    AUTH_PASSWORD_RESET_SECONDS = _env_int("AUTH_PASSWORD_RESET_SECONDS", 30 * MINUTE)
    AUTH_EMAIL_VERIFICATION_SECONDS = _env_int("AUTH_EMAIL_VERIFICATION_SECONDS", 2 * DAY)
    AUTH_EMAIL_CHANGE_SECONDS = _env_int("AUTH_EMAIL_CHANGE_SECONDS", DAY)
    # Webhooks (app/core/hooks/).
    AUTH_WEBHOOK_ALLOW_PRIVATE = _env_bool("AUTH_WEBHOOK_ALLOW_PRIVATE", False)
    AUTH_WEBHOOK_TIMEOUT_SECONDS = _env_float("AUTH_WEBHOOK_TIMEOUT_SECONDS", 5.0)
    AUTH_WEBHOOK_RETRY_SECONDS = _env_int("AUTH_WEBHOOK_RETRY_SECONDS", 2 * DAY)
    AUTH_WEBHOOK_BACKOFF_MAX_SECONDS = _env_int("AUTH_WEBHOOK_BACKOFF_MAX_SECONDS", HOUR)
    AUTH_WEBHOOK_DISABLE_AFTER_SECONDS = _env_int("AUTH_WEBHOOK_DISABLE_AFTER_SECONDS", DAY)
    AUTH_WEBHOOK_SECRET_GRACE_SECONDS = _env_int("AUTH_WEBHOOK_SECRET_GRACE_SECONDS", DAY)
    # Auth hooks (app/core/hooks/auth_hooks.py): a URL and a whsec_ secret each.
    AUTH_HOOK_BEFORE_USER_CREATED_URL = os.environ.get("AUTH_HOOK_BEFORE_USER_CREATED_URL", "")
    AUTH_HOOK_BEFORE_USER_CREATED_SECRET = os.environ.get(
        "AUTH_HOOK_BEFORE_USER_CREATED_SECRET", ""
    )
    AUTH_HOOK_CUSTOM_ACCESS_TOKEN_URL = os.environ.get("AUTH_HOOK_CUSTOM_ACCESS_TOKEN_URL", "")
    AUTH_HOOK_CUSTOM_ACCESS_TOKEN_SECRET = os.environ.get(
        "AUTH_HOOK_CUSTOM_ACCESS_TOKEN_SECRET", ""
    )
    AUTH_HOOK_SEND_EMAIL_URL = os.environ.get("AUTH_HOOK_SEND_EMAIL_URL", "")
    AUTH_HOOK_SEND_EMAIL_SECRET = os.environ.get("AUTH_HOOK_SEND_EMAIL_SECRET", "")
    AUTH_HOOK_TIMEOUT_SECONDS = _env_float("AUTH_HOOK_TIMEOUT_SECONDS", 2.0)
    # At most one reset (or verification) mail per account in this many seconds.
    AUTH_MAIL_INTERVAL_SECONDS = _env_int("AUTH_MAIL_INTERVAL_SECONDS", MINUTE)
    # Login (every dialect) refuses an account whose email is not verified yet.
    AUTH_REQUIRE_VERIFIED_EMAIL = _env_bool("AUTH_REQUIRE_VERIFIED_EMAIL", False)
    # A whitelisted admin registration stays a user until its email is verified: whoever
    # registers the address first has not proved they own the mailbox.
    AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL = _env_bool("AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL", True)
    # A second factor (app/core/factors/totp.py, second_step.py): TOTP secrets are encrypted
    # with these Fernet keys (comma-separated; the first encrypts). Production refuses to
    # start with TOTP on and no key; development makes one in instance/.
    AUTH_TOTP_ENABLED = _env_bool("AUTH_TOTP_ENABLED", True)
    AUTH_MFA_ENCRYPTION_KEY = os.environ.get("AUTH_MFA_ENCRYPTION_KEY", "")
    # The name authenticator apps show beside the account.
    AUTH_TOTP_ISSUER = os.environ.get("AUTH_TOTP_ISSUER", "Auth Service")
    # The mfaToken of a login waiting for its second step: its lifetime and its tries.
    AUTH_MFA_TOKEN_SECONDS = _env_int("AUTH_MFA_TOKEN_SECONDS", 5 * MINUTE)
    AUTH_MFA_TOKEN_TRIES = _env_int("AUTH_MFA_TOKEN_TRIES", 5)
    # Passkeys (WebAuthn): the relying party's id and name, and the origins whose assertions
    # count; by default the host and origin of AUTH_FRONTEND_URL.
    AUTH_WEBAUTHN_RP_ID = os.environ.get("AUTH_WEBAUTHN_RP_ID", "")
    AUTH_WEBAUTHN_RP_NAME = os.environ.get("AUTH_WEBAUTHN_RP_NAME", "Auth Service")
    AUTH_WEBAUTHN_ORIGINS = _env_list("AUTH_WEBAUTHN_ORIGINS")
    AUTH_WEBAUTHN_CHALLENGE_SECONDS = _env_int("AUTH_WEBAUTHN_CHALLENGE_SECONDS", 5 * MINUTE)
    # Sign-in with OpenID providers (app/core/federation/providers.py): their names, comma-separated
    # (a-z, then a-z or 0-9); each one's AUTH_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET,
    # _SCOPES, _AUDIENCES and _TRUST_MFA are read below, as they are.
    AUTH_OIDC_PROVIDERS = _env_list("AUTH_OIDC_PROVIDERS")
    # A provider that could not be reached is asked again after this many seconds, not sooner.
    AUTH_OIDC_RETRY_SECONDS = _env_int("AUTH_OIDC_RETRY_SECONDS", 30)
    # Sensitive actions (a factor added or removed, a password changed, a provider linked, an
    # admin's change to another account) need a proof of who is calling this recent.
    AUTH_REAUTH_MAX_AGE_SECONDS = _env_int("AUTH_REAUTH_MAX_AGE_SECONDS", 5 * MINUTE)
    # Failed second-factor checks in a row that lock the account's second step.
    AUTH_MFA_MAX_FAILURES = _env_int("AUTH_MFA_MAX_FAILURES", 10)
    # Admin endpoints refuse an access token whose login had no second factor.
    AUTH_ADMIN_REQUIRES_MFA = _env_bool("AUTH_ADMIN_REQUIRES_MFA", False)
    # GET /openapi.json and the Swagger UI page at /docs.
    AUTH_DOCS_ENABLED = _env_bool("AUTH_DOCS_ENABLED", True)
    # The example single-page app at /examples/spa/ (development only by default).
    AUTH_SERVE_EXAMPLES = _env_bool("AUTH_SERVE_EXAMPLES", False)
    # Native apps that may use this domain's passkeys: Apple app ids (TEAMID.bundle.id) for
    # /.well-known/apple-app-site-association, and Android apps (package.name=SHA256:..., more
    # fingerprints separated by spaces) for /.well-known/assetlinks.json.
    AUTH_IOS_APP_IDS = _env_list("AUTH_IOS_APP_IDS")
    AUTH_ANDROID_APPS = _env_list("AUTH_ANDROID_APPS")
    # Where a provider sign-in started by a native app in the system browser returns, with a
    # one-time code (exact match; docs/native-apps.md): com.example.app:/oauth, or an https
    # URL the app claims.
    AUTH_NATIVE_REDIRECT_URIS = _env_list("AUTH_NATIVE_REDIRECT_URIS")
    # The consoles at /admin/ and /account/ (app/pages/), themed without forking templates.
    AUTH_PAGES_ENABLED = _env_bool("AUTH_PAGES_ENABLED", True)
    AUTH_PAGES_PRODUCT_NAME = os.environ.get("AUTH_PAGES_PRODUCT_NAME", "authsvc")
    AUTH_PAGES_LOGO_URL = os.environ.get("AUTH_PAGES_LOGO_URL", "")
    AUTH_PAGES_PRIMARY_COLOR = os.environ.get("AUTH_PAGES_PRIMARY_COLOR", "#1f5fbf")
    AUTH_PAGES_TEXT_COLOR = os.environ.get("AUTH_PAGES_TEXT_COLOR", "#1b1f24")
    AUTH_PAGES_TEMPLATES_DIR = os.environ.get("AUTH_PAGES_TEMPLATES_DIR", "")

    # Brute-force budgets (app/core/attempts.py), kept in the rate-limit storage: Redis, so
    # that every worker and host draws from one budget. Production refuses to start without
    # it; development and testing default to memory:// (app/startup.py).
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "authsvc")
    RATELIMIT_HEADERS_ENABLED = False
    # If Redis fails at run time, each worker keeps limiting on its own rather than failing.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # While Redis does not answer, each worker keeps the budgets itself and tries Redis again
    # after this many seconds.
    AUTH_RATELIMIT_STORAGE_RETRY_SECONDS = _env_int("AUTH_RATELIMIT_STORAGE_RETRY_SECONDS", 30)
    RATELIMIT_STORAGE_OPTIONS: ClassVar[dict[str, Any]] = {
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
    }
    AUTH_RATELIMIT_CREDENTIALS_PER_IP = os.environ.get(
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP", "30 per minute"
    )
    # Failed checks on one account from one client address; the owner elsewhere is unaffected.
    AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP = os.environ.get(
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP", "10 per 15 minutes"
    )
    # Failed checks on one account from every address together: caps distributed guessing.
    AUTH_RATELIMIT_FAILURES_PER_ACCOUNT = os.environ.get(
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT", "100 per hour"
    )
    AUTH_RATELIMIT_REFRESH_PER_IP = os.environ.get("AUTH_RATELIMIT_REFRESH_PER_IP", "60 per minute")

    # Token lifetimes per dialect, in seconds; a dialect without a refresh key has no refresh.
    AUTH_BLOG_ACCESS_TOKEN_SECONDS = _env_int("AUTH_BLOG_ACCESS_TOKEN_SECONDS", 15 * MINUTE)
    AUTH_BLOG_REFRESH_TOKEN_SECONDS = _env_int("AUTH_BLOG_REFRESH_TOKEN_SECONDS", 7 * DAY)
    AUTH_CMG_ACCESS_TOKEN_SECONDS = _env_int("AUTH_CMG_ACCESS_TOKEN_SECONDS", 15 * MINUTE)
    AUTH_CMG_REFRESH_TOKEN_SECONDS = _env_int("AUTH_CMG_REFRESH_TOKEN_SECONDS", 7 * DAY)
    AUTH_CLIENT_ACCESS_TOKEN_SECONDS = _env_int("AUTH_CLIENT_ACCESS_TOKEN_SECONDS", HOUR)
    AUTH_STAFF_ACCESS_TOKEN_SECONDS = _env_int("AUTH_STAFF_ACCESS_TOKEN_SECONDS", 7 * DAY)
    AUTH_TOKEN_PAIR_ACCESS_TOKEN_SECONDS = _env_int(
        "AUTH_TOKEN_PAIR_ACCESS_TOKEN_SECONDS", 5 * MINUTE
    )
    AUTH_TOKEN_PAIR_REFRESH_TOKEN_SECONDS = _env_int("AUTH_TOKEN_PAIR_REFRESH_TOKEN_SECONDS", DAY)


class ProductionConfig(Config):
    pass


LOCAL_FRONTEND = "http://localhost:5000"


class DevelopmentConfig(Config):
    APP_ENV = "development"
    # The service's own account pages: mailed links and OpenID sign-ins land there.
    AUTH_FRONTEND_URL = os.environ.get("AUTH_FRONTEND_URL", f"{LOCAL_FRONTEND}/account")
    MAIL_URL = os.environ.get("MAIL_URL", "console://")
    AUTH_SERVE_EXAMPLES = _env_bool("AUTH_SERVE_EXAMPLES", True)
    AUTH_COOKIE_SECURE = _env_bool("AUTH_COOKIE_SECURE", False)


class TestingConfig(Config):
    APP_ENV = "testing"
    TESTING = True
    AUTH_FRONTEND_URL = os.environ.get("AUTH_FRONTEND_URL", LOCAL_FRONTEND)
    MAIL_URL = os.environ.get("MAIL_URL", "console://")
    MAIL_SEND_IN_BACKGROUND = False
    AUTH_COOKIE_SECURE = False
    # The cheapest hash keeps the suite fast; the end-to-end tests run the real scrypt.
    AUTH_PASSWORD_HASH_METHOD = "pbkdf2:sha256:1"  # noqa: S105 (a method name)
    # Rows stored by the request itself, so a test reads them at once.
    AUTH_AUDIT_BATCHED = False


def _oidc_provider_settings() -> dict[str, str]:
    """Every AUTH_OIDC_<NAME>_* variable of the providers AUTH_OIDC_PROVIDERS names."""
    prefixes = tuple(f"AUTH_OIDC_{name.upper()}_" for name in Config.AUTH_OIDC_PROVIDERS)
    if not prefixes:
        return {}
    return {key: value for key, value in os.environ.items() if key.startswith(prefixes)}


for _key, _value in _oidc_provider_settings().items():
    setattr(Config, _key, _value)


CONFIGS: dict[str, type[Config]] = {
    "production": ProductionConfig,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}
