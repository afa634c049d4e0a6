"""Refresh policy (RFC 9700 4.14.2; OWASP ASVS 5 V7.3 session timeouts, V9.2 tokens)."""

from datetime import timedelta

import pytest

from app.core.errors import TokenExpiredError
from app.core.errors import TokenReusedError
from app.core.models import SignInSession
from app.core.sessions import refreshes
from app.core.sessions import sessions
from app.core.tokens.tokens import TokenPolicy
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_user

POLICY = TokenPolicy(access_ttl=timedelta(minutes=15), refresh_ttl=timedelta(days=7))
DAY = 24 * 3600


def test_refresh_slides_but_never_past_the_absolute_session_age(app_context, frozen_clock):
    """ASVS 5 V7.3.2: however often a client refreshes, the session ends
    AUTH_SESSION_MAX_AGE (30 days) after the login."""
    tokens = sessions.open_session(user=make_user(), dialect="blog", policy=POLICY)
    session = db.session.get(SignInSession, tokens.session_id)
    login_time = session.created_at
    for _ in range(4):
        frozen_clock.advance(6 * DAY)
        tokens = refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    db.session.refresh(session)
    assert session.expires_at == login_time + timedelta(days=30)
    frozen_clock.advance(6 * DAY + 1)
    with pytest.raises(TokenExpiredError):
        refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)


def test_the_absolute_age_is_configurable(app, app_context):
    """ASVS 5 V7.3.2: the absolute lifetime is the operator's to set."""
    app.config["AUTH_SESSION_MAX_AGE"] = 3600

    tokens = sessions.open_session(user=make_user(), dialect="blog", policy=POLICY)

    session = db.session.get(SignInSession, tokens.session_id)
    assert session.expires_at - session.created_at == timedelta(hours=1)


def test_only_the_immediate_parent_is_forgiven_within_the_grace_window(app_context):
    """RFC 9700 4.14.2: a grandparent presented again, even at once, is theft."""
    first = sessions.open_session(user=make_user(), dialect="token-pair", policy=POLICY)
    second = refreshes.rotate_refresh(refresh_token=first.refresh_token, policy=POLICY)
    third = refreshes.rotate_refresh(refresh_token=second.refresh_token, policy=POLICY)

    assert refreshes.rotate_refresh(refresh_token=second.refresh_token, policy=POLICY)
    with pytest.raises(TokenReusedError):
        refreshes.rotate_refresh(refresh_token=first.refresh_token, policy=POLICY)
    with pytest.raises(Exception, match="revoked"):
        refreshes.rotate_refresh(refresh_token=third.refresh_token, policy=POLICY)


def test_a_late_reuse_of_the_parent_revokes_the_session(app_context, frozen_clock):
    """RFC 9700 4.14.2: outside the grace window the parent is a theft signal."""
    first = sessions.open_session(user=make_user(), dialect="token-pair", policy=POLICY)
    refreshes.rotate_refresh(refresh_token=first.refresh_token, policy=POLICY)
    frozen_clock.advance(11)

    with pytest.raises(TokenReusedError):
        refreshes.rotate_refresh(refresh_token=first.refresh_token, policy=POLICY)
    assert db.session.get(SignInSession, first.session_id).revoked_at is not None


def test_a_refresh_token_in_the_query_string_is_ignored(app_context, client):
    """ASVS 5 V14.2.1: tokens never travel in URLs (they end up in logs and history)."""
    user = make_user()
    refresh = client.post(
        "/api/token/", json={"username": user.username, "password": PASSWORD}
    ).get_json()["refresh"]

    token_pair = client.post(f"/api/token/refresh/?refresh={refresh}", json={})
    client.delete_cookie("refreshToken", path="/api/v1/auth")
    blog = client.post(f"/api/v1/auth/refresh-token?refreshToken={refresh}")

    assert token_pair.status_code == 400
    assert token_pair.get_json() == {"refresh": ["This field is required."]}
    assert blog.status_code == 400


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/login", lambda u: {"email": u.email, "password": PASSWORD}),
        ("/auth/login", lambda u: {"username": u.username, "password": PASSWORD}),
        ("/api/auth/login", lambda u: {"username": u.username, "password": PASSWORD}),
        ("/api/token/", lambda u: {"username": u.username, "password": PASSWORD}),
    ],
)
def test_token_responses_are_not_cached(app_context, client, path, body):
    """RFC 6749 5.1: responses carrying tokens say Cache-Control: no-store, Pragma: no-cache."""
    response = client.post(path, json=body(make_user()))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
