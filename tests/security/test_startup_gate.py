"""APP_ENV=production refuses to start on an unsafe configuration, with one line that names
the problem and never the value (OWASP ASVS 5 V13.3 secret management, RFC 8725 3.5)."""

import os
import subprocess
import sys

import pytest

from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import private_pem
from tests.conftest import REDIS_DEFAULT
from tests.conftest import REDIS_ENV
from tests.processes import ROOT
from tests.signing import TEST_MFA_KEY
from tests.signing import TEST_SECRET

PATTERNED = "0123456789abcdef" * 8
PUBLISHED = (
    "93db059c6f7f88ccf831726c24c08d07f8fa51770c562cec9130fe524c49d853"
    "00876f30b15d3751fee201d967d7dc1b82355d3459fb21bf50a1351da01ab374"
)
WEAK_SECRET = (
    "authsvc: refusing to start: JWT_SECRET_KEY is missing or weak: production needs at least "
    "64 random bytes, e.g. python3 -c 'import secrets; print(secrets.token_hex(64))'"
)


def _start(tmp_path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AUTH_", "FLASK_"))}
    env |= {
        "APP_ENV": "production",
        "DATABASE_URL": f"sqlite:///{tmp_path}/gate.db",
        "JWT_SECRET_KEY": TEST_SECRET,
        "RATELIMIT_STORAGE_URI": os.environ.get(REDIS_ENV, REDIS_DEFAULT),
        "AUTH_MFA_ENCRYPTION_KEY": TEST_MFA_KEY,
        "AUTH_FRONTEND_URL": "https://app.example.com",
        "AUTH_PUBLIC_URL": "https://auth.example.com",
        **settings,
    }
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_strong_secret_starts_quietly(tmp_path):
    """Control case: the production configuration used below is otherwise fine."""
    result = _start(tmp_path)

    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(
    "secret",
    ["", "x" * 20, TEST_SECRET[:100], PATTERNED, PUBLISHED, "change-me-" + TEST_SECRET,
     "my-super-secret-" + TEST_SECRET],
    ids=["missing", "short", "56-bytes", "patterned", "published-example", "change-me",
         "placeholder-word"],
)  # fmt: skip
def test_a_missing_short_patterned_or_placeholder_secret_is_refused(tmp_path, secret):
    """ASVS 5 V13.3.1: no default, example or guessable signing secret in production."""
    result = _start(tmp_path, JWT_SECRET_KEY=secret)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [WEAK_SECRET]


def test_a_secret_shared_with_flask_secret_key_is_refused(tmp_path):
    """ASVS 5 V13.3.2: one secret, one purpose."""
    result = _start(tmp_path, SECRET_KEY=TEST_SECRET)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "authsvc: refusing to start: JWT_SECRET_KEY must not be the same value as SECRET_KEY"
    )
    assert TEST_SECRET not in result.stderr


def test_debug_mode_is_refused(tmp_path):
    """ASVS 5 V13.4.2: no debug mode in production."""
    result = _start(tmp_path, FLASK_DEBUG="1")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "authsvc: refusing to start: debug mode is on; production must run with it off"
    )


@pytest.mark.parametrize("algorithm", ["none", "HS512", "PS256", "es256"])
def test_an_algorithm_outside_the_list_is_refused(tmp_path, algorithm):
    """RFC 8725 3.1: the service signs and accepts only the allowed algorithms."""
    result = _start(tmp_path, JWT_ALGORITHM=algorithm)

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "authsvc: refusing to start: JWT_ALGORITHM is not one of the allowed algorithms "
        "(HS256, RS256, ES256, EdDSA)"
    )


@pytest.mark.parametrize("origins", ["*", "https://*.example.com", "https://app.example.com/"])
def test_a_wildcard_or_malformed_cors_origin_is_refused(tmp_path, origins):
    """ASVS 5 V3.4.2: CORS trusts exact origins only, never a wildcard with credentials."""
    result = _start(tmp_path, CORS_ORIGINS=origins)

    assert result.returncode == 1
    assert "CORS_ORIGINS must list exact origins" in result.stderr


def test_insecure_cookies_start_with_one_loud_warning(tmp_path):
    """ASVS 5 V3.3.1: cookies without Secure are allowed (TLS may end at a proxy) but
    announced at startup."""
    result = _start(tmp_path, AUTH_COOKIE_SECURE="false")

    assert result.returncode == 0
    assert result.stderr.count("WARNING: AUTH_COOKIE_SECURE is off in production") == 1


def test_an_unreachable_redis_for_rate_limits_starts_with_one_warning(tmp_path):
    """Redis down is an outage, not a configuration error (issue 32): the service starts
    (and migrates), keeping the budgets per process until Redis answers, and says so."""
    result = _start(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")

    assert result.returncode == 0
    assert (
        result.stderr.count(
            "WARNING: RATELIMIT_STORAGE_URI points at a Redis that does not answer: the budgets "
            "are per process until it does."
        )
        == 1
    )


def test_production_without_a_shared_rate_limit_storage_is_refused(tmp_path):
    """Unset, each worker would keep its own counters and the budgets would grow with the
    workers and hosts."""
    result = _start(tmp_path, RATELIMIT_STORAGE_URI="")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "authsvc: refusing to start: RATELIMIT_STORAGE_URI is not set: production keeps its "
        "brute-force budgets in a storage shared by every worker and host, e.g. "
        "redis://127.0.0.1:6379/0"
    )


def test_an_explicit_memory_storage_starts_with_a_warning_that_names_the_multiplication(
    tmp_path,
):
    result = _start(tmp_path, RATELIMIT_STORAGE_URI="memory://")

    assert result.returncode == 0
    assert result.stderr.count("WARNING: RATELIMIT_STORAGE_URI is memory://") == 1
    assert "multiplied by the number of workers and hosts" in result.stderr


def _key_file(tmp_path, mode: int) -> str:
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(private_pem(generate_private_key("ES256")))
    key_file.chmod(mode)
    return str(key_file)


def test_an_asymmetric_key_from_a_file_starts_quietly_without_any_secret(tmp_path):
    """With ES256 the service holds a private key instead of a shared secret."""
    key_file = _key_file(tmp_path, 0o600)

    result = _start(
        tmp_path, JWT_ALGORITHM="ES256", JWT_SECRET_KEY="", JWT_PRIVATE_KEY_FILE=key_file
    )

    assert (result.returncode, result.stderr) == (0, "")


def test_a_private_key_file_others_can_read_starts_with_one_loud_warning(tmp_path):
    """Mounted secrets are often 0644, so this warns rather than refuses."""
    key_file = _key_file(tmp_path, 0o644)

    result = _start(tmp_path, JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY_FILE=key_file)

    assert result.returncode == 0
    assert result.stderr.count("WARNING: JWT_PRIVATE_KEY_FILE can be read by other users") == 1


def test_an_asymmetric_algorithm_without_a_private_key_is_refused(tmp_path):
    result = _start(tmp_path, JWT_ALGORITHM="RS256")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "authsvc: refusing to start: JWT_ALGORITHM=RS256 needs JWT_PRIVATE_KEY_FILE or "
        "JWT_PRIVATE_KEY; make a key pair with: python -m app keys generate --algorithm RS256"
    )


def test_production_with_totp_on_and_no_encryption_key_is_refused(tmp_path):
    result = _start(tmp_path, AUTH_MFA_ENCRYPTION_KEY="")

    assert result.returncode != 0
    assert result.stderr.startswith(
        "authsvc: refusing to start: AUTH_MFA_ENCRYPTION_KEY is not set: TOTP secrets and "
        "OpenID sign-ins in progress are sealed with it."
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_with_openid_providers_and_no_encryption_key_is_refused(tmp_path):
    result = _start(
        tmp_path,
        AUTH_MFA_ENCRYPTION_KEY="",
        AUTH_TOTP_ENABLED="false",
        AUTH_OIDC_PROVIDERS="corp",
        AUTH_OIDC_CORP_ISSUER="https://id.example.com",
        AUTH_OIDC_CORP_CLIENT_ID="authsvc",
    )

    assert result.returncode != 0
    assert "AUTH_MFA_ENCRYPTION_KEY is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"AUTH_OIDC_PROVIDERS": "Corp"}, "AUTH_OIDC_PROVIDERS: 'Corp' is not a provider name"),
        ({"AUTH_OIDC_PROVIDERS": "corp"}, "AUTH_OIDC_CORP_ISSUER and AUTH_OIDC_CORP_CLIENT_ID"),
        (
            {
                "AUTH_OIDC_PROVIDERS": "corp",
                "AUTH_OIDC_CORP_ISSUER": "http://id.example.com",
                "AUTH_OIDC_CORP_CLIENT_ID": "authsvc",
            },
            "AUTH_OIDC_CORP_ISSUER must be an https URL",
        ),
        (
            {
                "AUTH_OIDC_PROVIDERS": "corp",
                "AUTH_OIDC_CORP_ISSUER": "https://id.example.com",
                "AUTH_OIDC_CORP_CLIENT_ID": "authsvc",
                "AUTH_OIDC_CORP_SCOPES": "email profile",
            },
            "AUTH_OIDC_CORP_SCOPES must include openid",
        ),
    ],
)
def test_a_misconfigured_openid_provider_stops_startup_with_one_line(tmp_path, settings, message):
    result = _start(tmp_path, **settings)

    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_production_with_totp_off_needs_no_encryption_key(tmp_path):
    result = _start(tmp_path, AUTH_MFA_ENCRYPTION_KEY="", AUTH_TOTP_ENABLED="false")

    assert (result.returncode, result.stderr) == (0, "")


def test_an_encryption_key_that_is_not_a_fernet_key_is_refused_without_showing_it(tmp_path):
    result = _start(tmp_path, AUTH_MFA_ENCRYPTION_KEY="not-a-key-0123456789")

    assert result.returncode != 0
    assert "AUTH_MFA_ENCRYPTION_KEY must be Fernet keys" in result.stderr
    assert "not-a-key-0123456789" not in result.stderr


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        ({"AUTH_RATELIMIT_CREDENTIALS_PER_IP": "lots"},
         "AUTH_RATELIMIT_CREDENTIALS_PER_IP is not one rate limit such as '30 per minute'"),
        ({"AUTH_RATELIMIT_FAILURES_PER_ACCOUNT": "10 per fortnight"},
         "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT is not one rate limit such as '30 per minute'"),
        ({"AUTH_RATELIMIT_REFRESH_PER_IP": "1/second;2/minute"},
         "AUTH_RATELIMIT_REFRESH_PER_IP is not one rate limit such as '30 per minute'"),
        ({"AUTH_DIALECTS": "blog,bolg"},
         "AUTH_DIALECTS names unknown dialects: bolg "
         "(known: blog, cmg, client-credentials, staff, token-pair)"),
        ({"AUTH_COOKIE_SECURE": "ture"}, "AUTH_COOKIE_SECURE must be true or false"),
        ({"AUTH_FRONTEND_URL": ""},
         "AUTH_FRONTEND_URL is not set: mailed links and sign-in redirects lead to the "
         "frontend, e.g. https://app.example.com"),
        ({"AUTH_FRONTEND_URL": "app.example.com"},
         "AUTH_FRONTEND_URL must be a base URL such as https://app.example.com (no query)"),
        ({"AUTH_OIDC_PROVIDERS": "corp", "AUTH_OIDC_CORP_ISSUER": "https://sso.example.com",
          "AUTH_OIDC_CORP_CLIENT_ID": "authsvc", "AUTH_PUBLIC_URL": ""},
         "AUTH_PUBLIC_URL is not set: OpenID providers send browsers back to the service's "
         "own public address, e.g. https://auth.example.com"),
        ({"AUTH_REAUTH_MAX_AGE_SECONDS": "0"}, "AUTH_REAUTH_MAX_AGE_SECONDS must be at least 1"),
    ],
    ids=["limit-word", "limit-unit", "limit-two", "dialect", "boolean", "no-frontend",
         "frontend-not-a-url", "providers-without-public-url", "reauth-zero"],
)  # fmt: skip
def test_a_setting_that_would_fail_later_stops_startup_with_one_line(tmp_path, settings, line):
    """Each used to pass startup and fail at run time (every login a 500 for a bad limit),
    fail with a traceback (an unknown dialect), or mean something else (ture: false)."""
    result = _start(tmp_path, **settings)

    assert result.returncode == 1
    assert result.stderr.strip() == f"authsvc: refusing to start: {line}"


@pytest.mark.parametrize("command", [["--help"], ["users", "--help"], ["db", "--help"]])
def test_flask_help_needs_no_production_secrets(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AUTH_", "FLASK_"))}
    env |= {"APP_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/help.db"}

    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *command],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    refused = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "export", "-"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert refused.returncode == 1
    assert "refusing to start: JWT_SECRET_KEY is missing or weak" in refused.stderr
