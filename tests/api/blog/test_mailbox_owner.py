"""The mailbox owner always wins: a provider's unverified address claims nothing, the first
proof of a mailbox (a reset, or a verification) ends every way in that was added before it,
and AUTH_REQUIRE_VERIFIED_EMAIL holds on every way in."""

import uuid

import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import func
from sqlalchemy import select

from app.core.models import AuthEvent
from app.core.models import OidcIdentity
from app.core.models import Passkey
from app.core.models import SignInSession
from app.core.models import TotpFactor
from app.core.models import User
from app.database import db
from tests.api.blog.test_oidc_token_exchange import IOS_CLIENT
from tests.api.blog.test_oidc_token_exchange import provider  # noqa: F401 (a fixture)
from tests.api.blog.test_oidc_token_exchange import provider_settings
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.mailbox import token_in
from tests.matchers import blog_error
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import codes_in_order

AUTH = "/api/v1/auth"
EXCHANGE = f"{AUTH}/oidc/test/token"
VERIFY_SUBJECT = "Verify your email address"
RESET_SUBJECT = "Reset your password"
ENDED = (
    "Email verified. Every earlier way to sign in to this account has ended: set a password "
    "with Forgot password."
)


@pytest.fixture
def app_overrides(provider):  # noqa: F811
    return provider_settings(provider.issuer)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str, password: str = PASSWORD):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def _provider_sign_in(client, provider, email: str, *, verified: bool, subject: str = ""):  # noqa: F811
    claims = provider.id_token_claims(
        IOS_CLIENT,
        sub=subject or uuid.uuid4().hex,
        email=email,
        email_verified=verified,
        jti=uuid.uuid4().hex,  # each token its own: a token works once
    )
    return client.post(EXCHANGE, json={"idToken": provider.sign(claims)})


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return db.session.scalar(query)


def test_a_providers_unverified_address_gives_the_new_account_none(client, app_context, provider):  # noqa: F811
    signed_in = _provider_sign_in(client, provider, "victim@example.com", verified=False)

    assert signed_in.status_code == 200
    assert signed_in.get_json()["user"]["email"] is None
    assert db.session.scalar(select(User.email).where(User.email == "victim@example.com")) is None
    identity = db.session.scalar(select(OidcIdentity))
    assert identity.email == "victim@example.com"  # shown in the identity list, claims nothing


def test_the_mailbox_owner_registers_an_address_a_provider_gave_unverified(
    client,
    app_context,
    provider,  # noqa: F811
):
    subject = uuid.uuid4().hex
    _provider_sign_in(client, provider, "victim@example.com", verified=False, subject=subject)

    registered = client.post(
        f"{AUTH}/register", json={"email": "victim@example.com", "password": PASSWORD}
    )
    again = _provider_sign_in(
        client, provider, "victim@example.com", verified=False, subject=subject
    )

    assert registered.status_code == 201
    assert registered.get_json()["user"]["email"] == "victim@example.com"
    assert again.status_code == 200
    assert again.get_json()["user"]["_id"] != registered.get_json()["user"]["_id"]


def test_a_providers_verified_address_is_the_new_accounts(client, app_context, provider):  # noqa: F811
    signed_in = _provider_sign_in(client, provider, "owner@example.com", verified=True)

    assert signed_in.get_json()["user"]["email"] == "owner@example.com"
    assert signed_in.get_json()["user"]["emailVerified"] is True


def _pre_hijacked(client) -> tuple[User, str, list[str]]:
    """An account a stranger registered with someone else's address, then armed: a session,
    TOTP (with its recovery codes), a passkey and a linked provider identity."""
    squatter = make_user(email="victim@example.com")
    token = _login(client, squatter.email).get_json()["accessToken"]
    started = client.post(f"{AUTH}/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token))
    codes = codes_in_order(started.get_json()["secret"])
    confirmed = client.post(
        f"{AUTH}/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token)
    )
    reauthenticated = client.post(
        f"{AUTH}/reauthenticate", json={"code": next(codes)}, headers=_bearer(token)
    ).get_json()["accessToken"]
    authenticator = SoftAuthenticator()
    options = client.post(
        f"{AUTH}/passkeys/register/options", headers=_bearer(reauthenticated)
    ).get_json()
    added = client.post(
        f"{AUTH}/passkeys/register",
        json={"credential": authenticator.create(options)},
        headers=_bearer(reauthenticated),
    )
    assert added.status_code == 201, added.get_json()
    db.session.add(
        OidcIdentity(user_id=squatter.id, provider="test", issuer="https://squatter.example",
                     subject="squatter")
    )  # fmt: skip
    db.session.commit()
    return squatter, reauthenticated, confirmed.get_json()["recoveryCodes"]


def _ways_in(user_id: int) -> dict[str, int]:
    live = (
        select(func.count())
        .select_from(SignInSession)
        .where(SignInSession.user_id == user_id, SignInSession.revoked_at.is_(None))
    )
    return {
        "identities": _count(OidcIdentity, user_id=user_id),
        "passkeys": _count(Passkey, user_id=user_id),
        "totp": _count(TotpFactor, user_id=user_id),
        "sessions": db.session.scalar(live),
    }


NONE_LEFT = {"identities": 0, "passkeys": 0, "totp": 0, "sessions": 0}


def test_a_reset_of_an_unproven_address_ends_every_way_in_added_before_it(
    client, app_context, mailbox
):
    squatter, squatters_token, recovery = _pre_hijacked(client)
    mfa_token = _login(client, squatter.email).get_json()["details"]["mfaToken"]

    client.post(f"{AUTH}/forgot-password", json={"email": "victim@example.com"})
    token = token_in(mailbox.wait_for("victim@example.com", RESET_SUBJECT))
    reset = client.post(
        f"{AUTH}/reset-password", json={"token": token, "password": "the owners passphrase"}
    )
    left = _ways_in(squatter.id)
    owner = _login(client, "victim@example.com", "the owners passphrase")

    assert reset.status_code == 200
    assert left == NONE_LEFT
    assert owner.status_code == 200  # no second step the owner never set up
    assert owner.get_json()["user"]["emailVerified"] is True
    assert client.get("/api/v1/users/current", headers=_bearer(squatters_token)).status_code == 401
    assert _login(client, "victim@example.com").status_code == 400  # the squatter's password
    pending = client.post(
        f"{AUTH}/mfa/verify", json={"mfaToken": mfa_token, "recoveryCode": recovery[0]}
    )
    assert pending.status_code == 401
    event = db.session.scalar(select(AuthEvent).where(AuthEvent.event == "ways_in_ended"))
    assert event.details == {
        "identities": 1,
        "factors": ["totp", "recoveryCode", "passkey"],
        "sessions": 1,
        "password": False,
    }


def test_a_verification_by_token_alone_ends_every_way_in_and_the_password(
    client, app_context, mailbox
):
    squatter, squatters_token, _recovery = _pre_hijacked(client)
    client.post(f"{AUTH}/resend-verification", json={"email": "victim@example.com"})
    token = token_in(mailbox.wait_for("victim@example.com", VERIFY_SUBJECT))

    verified = client.post(f"{AUTH}/verify-email", json={"token": token})

    assert verified.status_code == 200
    assert verified.get_json()["message"] == ENDED
    assert verified.get_json()["user"]["emailVerified"] is True
    assert _ways_in(squatter.id) == NONE_LEFT
    assert _login(client, "victim@example.com").status_code == 400
    assert client.get("/api/v1/users/current", headers=_bearer(squatters_token)).status_code == 401


def test_a_verification_with_the_password_keeps_the_accounts_ways_in(client, app_context, mailbox):
    user = make_user()
    token = _login(client, user.email).get_json()["accessToken"]
    client.post(f"{AUTH}/resend-verification", json={"email": user.email})
    mailed = token_in(mailbox.wait_for(user.email, VERIFY_SUBJECT))

    verified = client.post(f"{AUTH}/verify-email", json={"token": mailed, "password": PASSWORD})

    assert verified.get_json()["message"] == "Email verified"
    assert client.get("/api/v1/users/current", headers=_bearer(token)).status_code == 200
    assert _login(client, user.email).status_code == 200


def test_a_verification_with_a_wrong_password_is_refused_and_the_token_stays_usable(
    client, app_context, mailbox
):
    user = make_user()
    client.post(f"{AUTH}/resend-verification", json={"email": user.email})
    mailed = token_in(mailbox.wait_for(user.email, VERIFY_SUBJECT))

    wrong = client.post(f"{AUTH}/verify-email", json={"token": mailed, "password": "not it"})
    right = client.post(f"{AUTH}/verify-email", json={"token": mailed, "password": PASSWORD})

    assert wrong.status_code == 400
    assert wrong.get_json() == blog_error("ValidationError", "Current password is incorrect.")
    assert right.status_code == 200


def test_a_verification_from_a_session_of_another_account_is_refused(client, app_context, mailbox):
    user, other = make_user(), make_user()
    others_token = _login(client, other.email).get_json()["accessToken"]
    client.post(f"{AUTH}/resend-verification", json={"email": user.email})
    mailed = token_in(mailbox.wait_for(user.email, VERIFY_SUBJECT))

    refused = client.post(
        f"{AUTH}/verify-email", json={"token": mailed}, headers=_bearer(others_token)
    )
    alone = client.post(f"{AUTH}/verify-email", json={"token": mailed})

    assert refused.status_code == 400
    assert alone.status_code == 200  # the token was not spent by the refusal


def test_an_account_with_no_way_in_is_simply_verified(client, app_context, mailbox):
    user = make_user()  # a password, no session yet: the password still ends
    db.session.execute(
        User.__table__.update().where(User.id == user.id).values(password_hash="!unusable")
    )
    db.session.commit()
    client.post(f"{AUTH}/resend-verification", json={"email": user.email})
    mailed = token_in(mailbox.wait_for(user.email, VERIFY_SUBJECT))

    verified = client.post(f"{AUTH}/verify-email", json={"token": mailed})

    assert verified.get_json()["message"] == "Email verified"


@pytest.fixture
def verified_only(app):
    app.config["AUTH_REQUIRE_VERIFIED_EMAIL"] = True


def test_with_verified_email_required_a_passkey_sign_in_is_refused(client, app, app_context):
    user = make_user()
    token = _login(client, user.email).get_json()["accessToken"]
    authenticator = SoftAuthenticator()
    options = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(token)).get_json()
    client.post(
        f"{AUTH}/passkeys/register",
        json={"credential": authenticator.create(options)},
        headers=_bearer(token),
    )
    app.config["AUTH_REQUIRE_VERIFIED_EMAIL"] = True

    sign_in_options = client.post(f"{AUTH}/passkeys/login/options", json={}).get_json()
    response = client.post(
        f"{AUTH}/passkeys/login",
        json={
            "challengeId": sign_in_options["challengeId"],
            "credential": authenticator.get(sign_in_options),
        },
    )

    assert response.status_code == 403
    assert response.get_json() == blog_error(
        "AuthorizationError", "Verify your email address before logging in."
    )
    assert "Set-Cookie" not in response.headers


def test_with_verified_email_required_the_second_step_is_refused(client, app, app_context):
    user = make_user()
    token = _login(client, user.email).get_json()["accessToken"]
    started = client.post(f"{AUTH}/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token))
    codes = codes_in_order(started.get_json()["secret"])
    client.post(f"{AUTH}/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token))
    mfa_token = _login(client, user.email).get_json()["details"]["mfaToken"]
    app.config["AUTH_REQUIRE_VERIFIED_EMAIL"] = True

    login = _login(client, user.email)
    second_step = client.post(
        f"{AUTH}/mfa/verify", json={"mfaToken": mfa_token, "code": next(codes)}
    )

    assert login.status_code == 403  # before any mfaToken
    assert "mfaToken" not in str(login.get_json())
    assert second_step.status_code == 403
    assert second_step.get_json()["message"] == "Verify your email address before logging in."


def test_with_verified_email_required_a_provider_account_without_an_address_is_refused(
    client,
    app,
    app_context,
    provider,  # noqa: F811
):
    app.config["AUTH_REQUIRE_VERIFIED_EMAIL"] = True

    response = _provider_sign_in(client, provider, "someone@example.com", verified=False)

    assert response.status_code == 403
    assert response.get_json()["message"] == "Verify your email address before logging in."


def test_a_providers_verification_of_the_accounts_own_address_counts(
    client,
    app,
    app_context,
    provider,  # noqa: F811
):
    app.config["AUTH_REQUIRE_VERIFIED_EMAIL"] = True
    user = make_user()
    db.session.add(
        OidcIdentity(user_id=user.id, provider="test", issuer=provider.issuer, subject="linked")
    )
    db.session.commit()

    response = _provider_sign_in(client, provider, user.email, verified=True, subject="linked")

    assert response.status_code == 200
    assert response.get_json()["user"]["emailVerified"] is True
    assert decode_token(response.get_json()["accessToken"])["sub"] == str(user.id)
    assert _login(client, user.email).status_code == 200  # now verified for every way in
