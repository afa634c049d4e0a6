"""No account enumeration: an unknown identity and a wrong secret get identical answers
after the same work (OWASP ASVS 5 V6.3.8; V6.3.x timing)."""

import pytest

from app.core.passwords import security
from tests.factories import make_client
from tests.factories import make_user

WRONG = "not the right passphrase"

LOGINS = {
    "blog": ("/api/v1/auth/login", lambda ident: {"email": ident, "password": WRONG}),
    "cmg": ("/auth/login", lambda ident: {"username": ident, "password": WRONG}),
    "staff": ("/api/auth/login", lambda ident: {"username": ident, "password": WRONG}),
    "token-pair": ("/api/token/", lambda ident: {"username": ident, "password": WRONG}),
}


def _answer(response):
    """Status, body and headers, but for the request's own id, which differs on every
    request whoever it names."""
    headers = sorted((name, value) for name, value in response.headers.items()
                     if name != "X-Request-ID")  # fmt: skip
    return response.status_code, response.get_json(), headers


@pytest.mark.parametrize("dialect", LOGINS)
def test_unknown_account_and_wrong_password_answer_identically(app_context, client, dialect):
    """ASVS 5 V6.3.8: status, body and every header are the same."""
    make_user(email="known@example.com", username="known")
    path, body = LOGINS[dialect]
    known = "known@example.com" if dialect == "blog" else "known"
    unknown = "unknown@example.com" if dialect == "blog" else "unknown"

    assert _answer(client.post(path, json=body(known))) == _answer(
        client.post(path, json=body(unknown))
    )


@pytest.mark.parametrize("dialect", LOGINS)
def test_unknown_account_and_wrong_password_do_the_same_hashing_work(
    app_context, client, monkeypatch, dialect
):
    """ASVS 5 V6.3.x: one password check at the same cost on both paths, so the time
    taken does not reveal the account (the dummy hash uses the configured method)."""
    make_user(email="known@example.com", username="known")
    checks: list[str] = []
    real_check = security.check_password_hash
    monkeypatch.setattr(
        security,
        "check_password_hash",
        lambda stored, password: (
            checks.append(stored.split("$")[0]) or real_check(stored, password)
        ),
    )
    path, body = LOGINS[dialect]

    client.post(path, json=body("known@example.com" if dialect == "blog" else "known"))
    client.post(path, json=body("unknown@example.com" if dialect == "blog" else "unknown"))

    assert len(checks) == 2
    assert checks[0] == checks[1]


def test_unknown_client_and_wrong_key_answer_identically_after_one_comparison(
    app_context, client, monkeypatch
):
    """ASVS 5 V6.3.8: client authentication does not reveal which client ids exist."""
    credentials = make_client()
    comparisons = []
    real_matches = security.client_key_matches
    monkeypatch.setattr(
        "app.core.accounts.clients.client_key_matches",
        lambda key, stored: comparisons.append(stored) or real_matches(key, stored),
    )

    wrong_key = client.post(
        "/auth", json={"clientId": credentials.client_id, "clientKey": "0" * 64}
    )
    unknown = client.post("/auth", json={"clientId": "f" * 32, "clientKey": "0" * 64})

    assert _answer(wrong_key) == _answer(unknown)
    assert len(comparisons) == 2
