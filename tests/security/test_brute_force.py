"""Brute-force limits on every credential endpoint (OWASP ASVS 5 V6.3.1, V6.1.1)."""

import time

import pytest

from app.core import budget_windows
from tests.factories import PASSWORD
from tests.factories import make_client
from tests.factories import make_user

WRONG = "definitely wrong"


@pytest.fixture
def app_overrides():
    return {
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT": "3 per 15 minutes",
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "100 per minute",
    }


@pytest.fixture
def user(app_context):
    return make_user()


@pytest.fixture
def limiter_clock(monkeypatch):
    """Moves the rate limiter's clock without sleeping."""

    class Clock:
        offset = 0.0

        def time(self) -> float:
            return time.time() + self.offset

        def monotonic(self) -> float:
            return time.monotonic() + self.offset

    clock = Clock()
    monkeypatch.setattr(budget_windows, "time", clock)
    return clock


def blog(client, user, password):
    return client.post("/api/v1/auth/login", json={"email": user.email, "password": password})


def cmg(client, user, password):
    return client.post("/auth/login", json={"username": user.username, "password": password})


def staff(client, user, password):
    return client.post("/api/auth/login", json={"username": user.username, "password": password})


def token_pair(client, user, password):
    return client.post("/api/token/", json={"username": user.username, "password": password})


LOGINS = [blog, cmg, staff, token_pair]
RATE_LIMITED_BODIES = {
    blog: {"error": "RateLimitError", "message": "Too many attempts. Try again later.",
           "details": {}},
    cmg: {"statusCode": 429, "message": "Too many attempts. Try again later.",
          "error": "Too Many Requests"},
    staff: {"error": "Too many attempts. Try again later."},
}  # fmt: skip


def test_failures_in_different_dialects_share_one_account_budget(client, user):
    """ASVS 5 V6.3.1: five faces must not give five budgets; email and username name the
    same account."""
    for login in (blog, cmg, token_pair):
        assert login(client, user, WRONG).status_code in (400, 401)

    for login in LOGINS:
        assert login(client, user, PASSWORD).status_code == 429, login.__name__


@pytest.mark.parametrize("login", [blog, cmg, staff])
def test_a_limited_account_answers_429_in_the_dialects_format_with_retry_after(client, user, login):
    """ASVS 5 V6.3.1 and RFC 9110 10.2.3: the client is told when to come back."""
    for _ in range(3):
        login(client, user, WRONG)

    response = login(client, user, PASSWORD)

    assert response.status_code == 429
    assert response.get_json() == RATE_LIMITED_BODIES[login]
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60 + 1


def test_token_pair_throttling_reads_like_drf(client, user):
    for _ in range(3):
        token_pair(client, user, WRONG)

    response = token_pair(client, user, PASSWORD)

    retry_after = response.headers["Retry-After"]
    assert response.get_json() == {
        "detail": f"Request was throttled. Expected available in {retry_after} seconds."
    }


def test_successful_logins_do_not_spend_the_account_budget(client, user):
    """ASVS 5 V6.3.1: only failed attempts count against the account."""
    for _ in range(6):
        assert blog(client, user, PASSWORD).status_code == 200


def test_the_lock_lifts_by_itself_after_the_window(client, user, limiter_clock):
    """ASVS 5 V6.3.1: the lock is temporary, so an attacker cannot keep the owner out for
    longer than two windows without failing again."""
    for _ in range(3):
        blog(client, user, WRONG)
    assert blog(client, user, PASSWORD).status_code == 429

    # A sliding window: the count of the last window fades out over the next one.
    limiter_clock.offset = 2 * 15 * 60 + 1

    assert blog(client, user, PASSWORD).status_code == 200


ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def login_from(client, user, password, address):
    return client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": password},
        environ_base=address,
    )


def test_failures_from_one_address_leave_the_owner_elsewhere_logging_in(app, client, user):
    """OWASP Authentication Cheat Sheet: a stranger's failures lock out only the stranger's
    address for that account, not its owner."""
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "3 per 15 minutes"
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT"] = "100 per hour"
    for _ in range(3):
        assert login_from(client, user, WRONG, ATTACKER).status_code == 400

    assert login_from(client, user, PASSWORD, ATTACKER).status_code == 429
    assert login_from(client, user, PASSWORD, OWNER).status_code == 200


def test_failures_from_many_addresses_meet_the_all_address_budget(app, client, user):
    """Distributed guessing is capped: once the all-address budget is spent, every address
    gets 429 for that account, the owner's included."""
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "2 per 15 minutes"
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT"] = "4 per hour"
    for n in range(4):
        assert login_from(client, user, WRONG, {"REMOTE_ADDR": f"203.0.113.{n}"}).status_code == 400

    assert login_from(client, user, PASSWORD, OWNER).status_code == 429


def test_a_spent_address_budget_does_not_charge_the_all_address_budget(app, client, user):
    """Attempts refused with 429 reach no password check and count nowhere else."""
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "2 per 15 minutes"
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT"] = "5 per hour"
    statuses = [login_from(client, user, WRONG, ATTACKER).status_code for _ in range(20)]

    assert statuses == [400, 400] + [429] * 18
    assert login_from(client, user, WRONG, OWNER).status_code == 400
    assert login_from(client, user, PASSWORD, OWNER).status_code == 200


def test_one_accounts_lock_leaves_other_accounts_alone(app_context, client, user):
    other = make_user()
    for _ in range(3):
        blog(client, user, WRONG)

    assert blog(client, other, PASSWORD).status_code == 200


def test_unknown_accounts_have_budgets_too(client):
    """ASVS 5 V6.3.1: guessing at an unknown name is throttled like a known one, so the
    429 does not reveal which accounts exist."""
    ghost = type("Ghost", (), {"email": "ghost@example.com", "username": "ghost"})
    for _ in range(3):
        assert blog(client, ghost, WRONG).status_code == 400

    assert blog(client, ghost, WRONG).status_code == 429


def test_client_credentials_are_limited_per_client(app_context, client):
    """ASVS 5 V6.3.1: a client key cannot be brute-forced either."""
    credentials = make_client()
    for _ in range(3):
        client.post("/auth", json={"clientId": credentials.client_id, "clientKey": "0" * 64})

    response = client.post(
        "/auth", json={"clientId": credentials.client_id, "clientKey": credentials.client_key}
    )

    assert response.status_code == 429
    assert response.get_json() == {"message": "Too many attempts. Try again later."}


def test_wrong_current_passwords_spend_the_account_budget(client, user):
    """ASVS 5 V6.3.1: change-password cannot be used to guess the password."""
    token = staff(client, user, PASSWORD).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}

    def change(current):
        return client.post(
            "/api/auth/change-password",
            json={"currentPassword": current, "newPassword": "a brand new phrase"},
            headers=bearer,
        )

    for _ in range(3):
        assert change(WRONG).status_code == 400

    assert change(PASSWORD).status_code == 429
    assert blog(client, user, PASSWORD).status_code == 429


def test_one_ip_has_one_budget_across_every_credential_endpoint(app, app_context, client):
    """ASVS 5 V6.3.1: per-IP limits span all dialects and all accounts."""
    app.config["AUTH_RATELIMIT_CREDENTIALS_PER_IP"] = "4 per minute"
    users = [make_user() for _ in range(5)]

    statuses = [
        login(client, u, PASSWORD).status_code for login, u in zip(LOGINS, users[:4], strict=True)
    ]
    fifth = blog(client, users[4], PASSWORD)

    assert statuses == [200, 200, 200, 200]
    assert fifth.status_code == 429


def test_another_ip_has_its_own_budget(app, app_context, client):
    app.config["AUTH_RATELIMIT_CREDENTIALS_PER_IP"] = "2 per minute"
    user = make_user()
    for _ in range(2):
        blog(client, user, PASSWORD)

    elsewhere = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )

    assert elsewhere.status_code == 200


def test_x_forwarded_for_is_ignored_without_trusted_proxies(app, app_context, client):
    """ASVS 5 V6.3.1: a client cannot mint new budgets by inventing X-Forwarded-For."""
    app.config["AUTH_RATELIMIT_CREDENTIALS_PER_IP"] = "2 per minute"
    user = make_user()

    statuses = [
        client.post(
            "/api/v1/auth/login",
            json={"email": user.email, "password": PASSWORD},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        ).status_code
        for n in range(3)
    ]

    assert statuses == [200, 200, 429]


def test_a_trusted_proxy_hop_gives_the_real_client_ip(database_url, seed_rows):
    """With TRUSTED_PROXIES=1, the address the proxy appended is the client's; what the
    client itself put earlier in the header is ignored."""
    from app.database import db
    from tests.conftest import make_app

    app = make_app(
        database_url, TRUSTED_PROXIES=1, AUTH_RATELIMIT_CREDENTIALS_PER_IP="2 per minute"
    )
    client = app.test_client()

    def attempt(forwarded_for):
        return client.post(
            "/api/auth/login",
            json={"username": "nobody", "password": WRONG},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code

    try:
        first_client = [attempt("1.1.1.1, 203.0.113.1") for _ in range(3)]
        second_client = attempt("1.1.1.1, 203.0.113.2")
    finally:
        with app.app_context():
            db.engine.dispose()

    assert first_client == [401, 401, 429]
    assert second_client == 401


def test_a_trusted_proxy_hop_gives_the_real_ip_to_sessions_and_the_audit_log(
    database_url, seed_rows
):
    """Sessions and audit events show the client, not the proxy in front of the service."""
    from app.core.models import AuthEvent
    from app.core.models import SignInSession
    from app.database import db
    from tests.conftest import make_app
    from tests.conftest import reset_tables

    app = make_app(database_url, TRUSTED_PROXIES=1)
    with app.app_context():
        reset_tables(seed_rows)
        user = make_user()
        username = user.username
    try:
        app.test_client().post(
            "/api/auth/login",
            json={"username": username, "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.23"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        with app.app_context():
            session_ip = db.session.scalars(db.select(SignInSession.ip)).one()
            event_ip = db.session.scalars(db.select(AuthEvent.ip)).one()
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()

    assert session_ip == event_ip == "198.51.100.23"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/forgot-password", {"email": "someone@example.com"}),
        ("/api/v1/auth/reset-password", {"token": "guess", "password": "a long passphrase 9"}),
        ("/api/v1/auth/verify-email", {"token": "guess"}),
        ("/api/v1/auth/resend-verification", {"email": "someone@example.com"}),
    ],
)
def test_the_mailed_token_endpoints_draw_from_the_credential_budget(app, client, path, body):
    """ASVS 5 V6.3.1 and V6.4: no unlimited token guessing and no mailbox flooding."""
    app.config["AUTH_RATELIMIT_CREDENTIALS_PER_IP"] = "3 per minute"

    statuses = [client.post(path, json=body).status_code for _ in range(4)]

    assert 429 not in statuses[:3]
    assert statuses[3] == 429
    assert client.post(path, json=body).get_json()["error"] == "RateLimitError"
