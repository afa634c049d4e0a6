"""Validly signed tokens with absurd numeric dates are refused, never a 500 (RFC 7519 2:
a NumericDate is a number of seconds; nothing obliges a reader to hold 10**400 of them)."""

from typing import Any

import pytest
from flask_jwt_extended import decode_token
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from app.core.tokens.verifier import MAX_NUMERIC_DATE
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.signing import sign_as_service

ABSURD = [10**20, 2**63, 2**63 - 1, 2**64, 10**400, -(10**20), -1, MAX_NUMERIC_DATE + 1]
absurd_dates = (
    st.sampled_from(ABSURD)
    | st.integers(min_value=MAX_NUMERIC_DATE + 1)
    | st.integers(max_value=-1)
)
# Every endpoint that reads a bearer token, a refresh token or a token in the body.
BEARER_ENDPOINTS = [
    ("GET", "/api/v1/users/current"),
    ("GET", "/auth/me"),
    ("GET", "/api/auth/check"),
    ("GET", "/api/users/me/"),
    ("GET", "/auth"),
    ("POST", "/api/auth/logout"),
]


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": False}  # sixty examples, each at every endpoint


@pytest.fixture
def live_claims(app_context, client) -> dict[str, Any]:
    """The claims of a live session's access and refresh tokens, so a forged token with
    them reaches the database read."""
    user = make_user()
    pair = client.post(
        "/api/token/", json={"username": user.username, "password": PASSWORD}
    ).get_json()
    return {"access": decode_token(pair["access"]), "refresh": decode_token(pair["refresh"])}


def _answers(client, kind: str, token: str) -> list[int]:
    bearer = {"Authorization": f"Bearer {token}"}
    statuses = [client.open(path, method=method, headers=bearer).status_code
                for method, path in BEARER_ENDPOINTS]  # fmt: skip
    body_field = "token" if kind == "access" else "refresh"
    statuses.append(client.post("/api/token/verify/", json={"token": token}).status_code)
    if kind == "refresh":
        statuses.append(client.post("/api/token/refresh/", json={body_field: token}).status_code)
        statuses.append(client.post("/api/token/blacklist/", json={body_field: token}).status_code)
    return statuses


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(["access", "refresh"]),
    claim=st.sampled_from(["exp", "iat", "nbf"]),
    value=absurd_dates,
)
def test_a_signed_token_with_an_absurd_numeric_date_is_refused_everywhere(
    client, live_claims, kind, claim, value
):
    token = sign_as_service(live_claims[kind] | {claim: value})

    assert set(_answers(client, kind, token)) == {401}


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [0, MAX_NUMERIC_DATE])
def test_the_edges_of_the_numeric_date_range_are_answered_without_a_500(
    client, live_claims, claim, value
):
    """The largest date accepted is still held by every reader (datetime, the database)."""
    token = sign_as_service(live_claims["access"] | {claim: value})

    assert set(_answers(client, "access", token)) <= {200, 401}
