"""Sessions: rotation, reuse detection with its grace window, revocation, purge."""

from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token

from app.core.audit.origin import ClientInfo
from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.errors import TokenReusedError
from app.core.errors import TokenRevokedError
from app.core.models import RevokedToken
from app.core.models import SignInSession
from app.core.sessions import callers
from app.core.sessions import refreshes
from app.core.sessions import sessions
from app.core.tokens.tokens import TokenPolicy
from app.database import db
from tests.factories import make_admin
from tests.factories import make_user
from tests.signing import signed_part

POLICY = TokenPolicy(access_ttl=timedelta(minutes=15), refresh_ttl=timedelta(days=7))


def _login(user=None):
    return sessions.open_session(user=user or make_user(), dialect="blog", policy=POLICY)


def _caller(tokens):
    return callers.find_caller(decode_token(tokens.access_token))


def test_open_session_stores_the_family_and_issues_tokens_bound_to_it(app_context):
    user = make_user()

    client = ClientInfo(user_agent="curl/8", ip="203.0.113.9")
    tokens = sessions.open_session(user=user, dialect="blog", policy=POLICY, client=client)

    session = db.session.get(SignInSession, tokens.session_id)
    assert session.user_id == user.id
    assert (session.user_agent, session.ip) == ("curl/8", "203.0.113.9")
    assert decode_token(tokens.refresh_token)["jti"] == session.refresh_jti
    assert decode_token(tokens.access_token)["sid"] == session.id
    assert tokens.access_expires_in == 900


def test_a_policy_without_refresh_issues_only_an_access_token(app_context):
    policy = TokenPolicy(access_ttl=timedelta(days=7), refresh_ttl=None)

    tokens = sessions.open_session(user=make_user(), dialect="staff", policy=policy)

    assert tokens.refresh_token is None
    assert _caller(tokens) is not None


def test_rotate_spends_the_token_and_hands_out_a_working_successor(app_context):
    tokens = _login()

    successor = refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    assert successor.refresh_token != tokens.refresh_token
    assert successor.session_id == tokens.session_id
    assert _caller(successor) is not None
    assert refreshes.rotate_refresh(refresh_token=successor.refresh_token, policy=POLICY)


@pytest.mark.parametrize("roles", [(), ("user",), ("admin", "user")])
def test_rotated_tokens_carry_their_own_users_name_and_roles(app_context, roles):
    make_admin()  # another user with other roles, so a read of anyone else's would show
    user = make_user(roles=roles)
    tokens = _login(user)

    successor = refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    expected = {"sub": str(user.id), "username": user.username, "userId": user.id}
    for token in (successor.access_token, successor.refresh_token):
        claims = decode_token(token)
        assert {name: claims[name] for name in expected} == expected
        assert claims["roles"] == user.role_names
        assert claims["sid"] == tokens.session_id


def test_rotate_slides_the_session_expiry(app_context, frozen_clock):
    tokens = _login()
    frozen_clock.advance(3600)

    refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    session = db.session.get(SignInSession, tokens.session_id)
    assert session.expires_at == frozen_clock.now.replace(microsecond=0) + POLICY.refresh_ttl


def test_reuse_inside_the_grace_window_yields_the_identical_successor(app_context, frozen_clock):
    tokens = _login()
    successor = refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)
    frozen_clock.advance(9)

    again = refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    assert signed_part(again.refresh_token) == signed_part(successor.refresh_token)
    assert db.session.get(SignInSession, tokens.session_id).revoked_at is None


def test_reuse_after_the_grace_window_revokes_the_whole_session(app_context, frozen_clock):
    tokens = _login()
    successor = refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)
    frozen_clock.advance(11)

    with pytest.raises(TokenReusedError):
        refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    assert db.session.get(SignInSession, tokens.session_id).revoked_at is not None
    assert _caller(successor) is None
    with pytest.raises(TokenRevokedError):
        refreshes.rotate_refresh(refresh_token=successor.refresh_token, policy=POLICY)


def test_reuse_of_an_older_ancestor_revokes_even_inside_the_grace_window(app_context):
    first = _login()
    second = refreshes.rotate_refresh(refresh_token=first.refresh_token, policy=POLICY)
    refreshes.rotate_refresh(refresh_token=second.refresh_token, policy=POLICY)

    with pytest.raises(TokenReusedError):
        refreshes.rotate_refresh(refresh_token=first.refresh_token, policy=POLICY)


def test_with_zero_grace_any_reuse_revokes_the_session(app, app_context):
    app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"] = 0
    tokens = _login()
    refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)

    with pytest.raises(TokenReusedError):
        refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)


def test_rotate_refuses_an_access_token(app_context):
    tokens = _login()

    with pytest.raises(TokenInvalidError):
        refreshes.rotate_refresh(refresh_token=tokens.access_token, policy=POLICY)


def test_rotate_refuses_an_expired_session(app_context, frozen_clock):
    short = TokenPolicy(access_ttl=timedelta(minutes=1), refresh_ttl=timedelta(seconds=30))
    tokens = sessions.open_session(user=make_user(), dialect="blog", policy=short)
    frozen_clock.advance(60)

    with pytest.raises(TokenExpiredError):
        refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=short)


def test_rotate_refuses_a_deactivated_user(app_context):
    user = make_user()
    tokens = _login(user)
    user.is_active = False
    db.session.commit()

    with pytest.raises(TokenRevokedError):
        refreshes.rotate_refresh(refresh_token=tokens.refresh_token, policy=POLICY)


def test_find_caller_refuses_a_token_of_a_deleted_session_even_for_a_reused_user_id(app_context):
    user = make_user()
    tokens = _login(user)
    db.session.delete(db.session.get(SignInSession, tokens.session_id))
    db.session.commit()

    assert _caller(tokens) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": 1, "sid": "x", "jti": "y", "exp": 1},
        {"sub": "1", "sid": None, "jti": "y", "exp": 1},
        {"sub": "1", "sid": "x", "jti": None, "exp": 1},
        {"sub": "abc", "sid": "x", "jti": "y", "exp": 1},
    ],
)
def test_find_caller_refuses_ill_typed_claims(app_context, claims):
    assert callers.find_caller(claims) is None


def test_log_out_ends_the_session_and_records_the_access_token(app_context):
    tokens = _login()
    caller = _caller(tokens)

    sessions.log_out(caller=caller, refresh_token=tokens.refresh_token)

    assert db.session.get(SignInSession, tokens.session_id).revoked_at is not None
    assert db.session.get(RevokedToken, caller.token_jti) is not None
    assert _caller(tokens) is None


def test_log_out_also_ends_the_session_of_a_stale_cookie_of_the_same_user(app_context):
    user = make_user()
    current, stale = _login(user), _login(user)

    sessions.log_out(caller=_caller(current), refresh_token=stale.refresh_token)

    assert _caller(stale) is None


def test_log_out_leaves_another_users_session_alone(app_context):
    mine, theirs = _login(), _login()

    sessions.log_out(caller=_caller(mine), refresh_token=theirs.refresh_token)

    assert _caller(theirs) is not None


def test_end_user_sessions_can_keep_the_calling_session(app_context):
    user = make_user()
    kept, ended = _login(user), _login(user)

    sessions.end_user_sessions(user_id=user.id, keep_session_id=kept.session_id)
    db.session.commit()  # the use case that ends them commits, with its own change

    assert _caller(kept) is not None
    assert _caller(ended) is None


def test_purge_deletes_expired_and_revoked_rows_only(app_context, frozen_clock):
    short = TokenPolicy(access_ttl=timedelta(minutes=1), refresh_ttl=timedelta(minutes=5))
    expiring = sessions.open_session(user=make_user(), dialect="blog", policy=short)
    logged_out = _login()
    sessions.log_out(caller=_caller(logged_out))
    live = _login()
    frozen_clock.advance(24 * 3600)

    counts = sessions.purge_expired()

    assert counts == sessions.PurgeCounts(sessions=2, revoked_tokens=1)
    assert db.session.get(SignInSession, expiring.session_id) is None
    assert db.session.get(SignInSession, live.session_id) is not None
