"""A native app's sign-in: the ID token its provider SDK obtained, exchanged for the service's
tokens. The provider is panva's oidc-provider on loopback (tests/openid_provider)."""

import base64
import json
import time
import uuid
from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import select

from app.core import clock
from app.core.factors import totp
from app.core.hooks.endpoints import add_endpoint
from app.core.models import AuthEvent
from app.core.models import OidcIdentity
from app.core.models import SpentOidcProof
from app.core.models import TotpFactor
from app.core.models import User
from app.database import db
from tests.conftest import dispose_engines
from tests.conftest import make_app
from tests.conftest import reset_tables
from tests.dialects import USER_ENDPOINTS
from tests.dialects import bearer
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.openid_provider import id_token_from_provider
from tests.openid_provider import native_client
from tests.openid_provider import new_signing_key
from tests.openid_provider import running_provider
from tests.openid_provider import web_client
from tests.ports import free_port
from tests.webhook_receiver import Receiver

WEB_CLIENT, WEB_SECRET = "authsvc-web", "web-client-secret-" + "x" * 32
IOS_CLIENT, OTHER_APP = "authsvc-ios", "someone-elses-app"
EXCHANGE = "/api/v1/auth/oidc/test/token"


@pytest.fixture(scope="module")
def provider():
    clients = [
        web_client(WEB_CLIENT, WEB_SECRET, "http://127.0.0.1/api/v1/auth/oidc/test/callback"),
        native_client(IOS_CLIENT),
        native_client(OTHER_APP),
    ]
    accounts = {
        "unverified@example.com": {"email_verified": False},
        "named@example.com": {"preferred_username": "named.person"},
        "no-email": {"email": None},
    }
    with running_provider(clients=clients, accounts=accounts) as running:
        yield running


def provider_settings(issuer: str, **extra: str) -> dict[str, object]:
    return {
        "AUTH_OIDC_PROVIDERS": ["test"],
        "AUTH_OIDC_TEST_ISSUER": issuer,
        "AUTH_OIDC_TEST_CLIENT_ID": WEB_CLIENT,
        "AUTH_OIDC_TEST_CLIENT_SECRET": WEB_SECRET,
        "AUTH_OIDC_TEST_AUDIENCES": IOS_CLIENT,
        **extra,
    }


@pytest.fixture
def app_overrides(provider):
    return provider_settings(provider.issuer)


def _login_name() -> str:
    return f"person-{uuid.uuid4().hex[:10]}@example.com"


def _exchange(client, id_token, **body):
    return client.post(EXCHANGE, json={"idToken": id_token, **body})


def _sign_in(client, provider, login):
    """A mobile app's whole sign-in: the provider's forms, then the exchange. The app's nonce
    makes each ID token unique (two sign-ins within a second would otherwise be one token)."""
    nonce = uuid.uuid4().hex
    id_token = id_token_from_provider(provider, IOS_CLIENT, login, nonce=nonce)
    return _exchange(client, id_token, nonce=nonce)


def test_the_providers_are_listed_for_a_login_page(client):
    assert client.get("/api/v1/auth/oidc").get_json() == {"providers": [{"name": "test"}]}


def test_a_new_user_signs_in_with_an_id_token_and_the_tokens_work_in_every_face(
    client, app_context, provider
):
    email = _login_name()
    id_token = id_token_from_provider(provider, IOS_CLIENT, email)

    response = _exchange(client, id_token)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"accessToken", "refreshToken", "user"}
    assert body["user"]["email"] == email
    assert body["user"]["emailVerified"] is True
    for endpoint in USER_ENDPOINTS:
        assert client.get(endpoint, headers=bearer(body["accessToken"])).status_code == 200
    rotated = client.post("/api/token/refresh/", json={"refresh": body["refreshToken"]})
    assert rotated.status_code == 200, rotated.get_json()
    user = db.session.scalars(select(User).where(User.email == email)).one()
    assert user.password_hash.startswith("!")
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": email, "password": user.password_hash}
        ).status_code
        == 400
    )


def test_a_second_sign_in_reaches_the_same_user(client, app_context, provider):
    email = _login_name()
    first, second = _sign_in(client, provider, email), _sign_in(client, provider, email)

    assert first.status_code == second.status_code == 200
    assert first.get_json()["user"]["_id"] == second.get_json()["user"]["_id"]
    assert db.session.scalar(select(OidcIdentity.subject)) == email


def test_the_username_comes_from_preferred_username(client, provider):
    response = _sign_in(client, provider, "named@example.com")

    assert response.get_json()["user"]["username"] == "named.person"


def test_an_id_token_works_once(client, app_context, provider):
    id_token = id_token_from_provider(provider, IOS_CLIENT, _login_name())

    first, replayed = _exchange(client, id_token), _exchange(client, id_token)

    assert first.status_code == 200
    assert replayed.status_code == 401
    assert replayed.get_json()["details"] == {"reason": "id_token_replayed"}


def test_an_id_token_for_the_web_client_itself_is_accepted(client, provider):
    """The token's audience may be the service's own client id, not only AUDIENCES."""
    claims = provider.id_token_claims(WEB_CLIENT, sub=_login_name(), email=_login_name())
    claims["email_verified"] = True

    assert _exchange(client, provider.sign(claims)).status_code == 200


def test_an_id_token_for_another_app_is_refused(client, provider):
    id_token = id_token_from_provider(provider, OTHER_APP, _login_name())

    response = _exchange(client, id_token)

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "invalid_id_token"}


@pytest.mark.parametrize("kid", ["another-key", "provider-key-1"])
def test_an_id_token_signed_by_another_key_is_refused(client, provider, kid):
    claims = provider.id_token_claims(IOS_CLIENT, sub=_login_name(), email=_login_name())

    response = _exchange(client, provider.sign(claims, key=new_signing_key(kid)))

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "invalid_id_token"}


def test_an_expired_id_token_is_refused(client, provider):
    past = int(time.time()) - 3600
    claims = provider.id_token_claims(
        IOS_CLIENT, sub=_login_name(), email=_login_name(), iat=past - 600, exp=past
    )

    response = _exchange(client, provider.sign(claims))

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "invalid_id_token"}


@pytest.mark.parametrize(
    ("claims", "sent"),
    [({"iss": "http://127.0.0.1:1"}, None), ({"nonce": "n-1"}, "n-2"), ({"nonce": "n-1"}, None)],
    ids=["other-issuer", "other-nonce", "nonce-not-sent"],
)
def test_an_id_token_with_a_wrong_issuer_or_nonce_is_refused(client, provider, claims, sent):
    base = provider.id_token_claims(IOS_CLIENT, sub=_login_name(), email=_login_name())
    body = {"nonce": sent} if sent else {}

    response = _exchange(client, provider.sign(base | claims), **body)

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "invalid_id_token"}


def test_the_nonce_sent_matches_the_one_the_provider_put_in(client, provider):
    id_token = id_token_from_provider(provider, IOS_CLIENT, _login_name(), nonce="app-nonce-1")

    assert _exchange(client, id_token, nonce="app-nonce-1").status_code == 200


def test_an_unverified_provider_email_is_not_linked_to_a_local_account(
    client, app_context, provider
):
    local = make_user(email="unverified@example.com", email_verified=True)

    response = _sign_in(client, provider, "unverified@example.com")

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "link_required"}
    assert db.session.scalar(select(OidcIdentity)) is None
    assert db.session.scalars(select(User).where(User.email == local.email)).one() == local


def test_a_verified_email_is_not_linked_to_an_unverified_local_account(
    client, app_context, provider
):
    local = make_user(email=_login_name())

    response = _sign_in(client, provider, local.email)

    assert response.get_json()["details"] == {"reason": "link_required"}


def test_a_verified_email_links_to_a_verified_local_account(client, app_context, provider):
    local = make_user(email=_login_name(), email_verified=True)

    response = _sign_in(client, provider, local.email)

    assert response.status_code == 200
    assert response.get_json()["user"]["_id"] == str(local.id)
    linked = db.session.scalar(select(AuthEvent).where(AuthEvent.event == "identity_linked"))
    assert linked is not None and linked.user_id == local.id


def test_a_provider_without_an_email_is_refused(client, provider):
    response = _sign_in(client, provider, "no-email")

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "email_missing"}


def test_a_deactivated_user_cannot_sign_in_this_way(client, app_context, provider):
    email = _login_name()
    assert _sign_in(client, provider, email).status_code == 200
    db.session.scalars(select(User).where(User.email == email)).one().is_active = False
    db.session.commit()

    response = _sign_in(client, provider, email)

    assert response.status_code == 401
    assert response.get_json()["details"] == {"reason": "account_disabled"}


def test_an_unknown_provider_is_a_404_in_the_blog_format(client):
    response = client.post("/api/v1/auth/oidc/nobody/token", json={"idToken": "x"})

    assert response.status_code == 404
    assert response.get_json()["error"] == "NotFoundError"
    assert response.get_json()["details"] == {"reason": "unknown_provider"}


@pytest.mark.parametrize(
    "body", [{}, {"idToken": ""}, {"idToken": 7}, {"idToken": "x", "other": 1}, []]
)
def test_a_malformed_body_is_a_400(client, body):
    response = client.post(EXCHANGE, json=body)

    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"


def test_a_provider_that_is_down_gives_a_503_and_the_service_keeps_serving(database_url, seed_rows):
    app = make_app(database_url, **provider_settings(f"http://127.0.0.1:{free_port()}"))
    client = app.test_client()

    try:
        response = client.post(EXCHANGE, json={"idToken": "a.b.c"})
        listed = client.get("/api/v1/auth/oidc")
    finally:
        with app.app_context():
            dispose_engines()

    assert response.status_code == 503
    assert response.get_json()["details"] == {"reason": "provider_unavailable"}
    assert listed.status_code == 200


def test_an_account_with_a_second_factor_still_takes_the_second_step(client, app_context, provider):
    email = _login_name()
    signed_in = _sign_in(client, provider, email).get_json()
    user = db.session.scalars(select(User).where(User.email == email)).one()
    _turn_on_totp_without_a_password(user)

    response = _sign_in(client, provider, email)

    assert signed_in["accessToken"]
    assert response.status_code == 403
    assert response.get_json()["error"] == "MfaRequiredError"
    assert "accessToken" not in response.get_json()


def _turn_on_totp_without_a_password(user: User) -> None:
    totp.start_enrolment(user_id=user.id, account_name=user.email)
    db.session.commit()
    factor = db.session.scalars(select(TotpFactor).where(TotpFactor.user_id == user.id)).one()
    factor.confirmed_at = factor.created_at
    db.session.commit()


def test_identities_are_listed_and_the_last_way_in_cannot_be_removed(client, app_context, provider):
    email = _login_name()
    token = _sign_in(client, provider, email).get_json()["accessToken"]

    listed = client.get("/api/v1/auth/identities", headers=bearer(token)).get_json()
    (identity,) = listed["identities"]
    removed = client.delete(f"/api/v1/auth/identities/{identity['id']}", headers=bearer(token))

    assert identity["provider"] == "test" and identity["email"] == email
    assert removed.status_code == 409
    assert removed.get_json()["details"] == {"reason": "last_way_in"}


def test_an_identity_is_removed_when_the_account_has_a_password(client, app_context, provider):
    local = make_user(email=_login_name(), email_verified=True)
    token = _sign_in(client, provider, local.email).get_json()["accessToken"]
    (identity,) = client.get("/api/v1/auth/identities", headers=bearer(token)).get_json()[
        "identities"
    ]

    removed = client.delete(f"/api/v1/auth/identities/{identity['id']}", headers=bearer(token))

    assert removed.status_code == 200
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": local.email, "password": PASSWORD}
        ).status_code
        == 200
    )
    assert db.session.scalar(select(OidcIdentity)) is None
    unlinked = db.session.scalar(select(AuthEvent).where(AuthEvent.event == "identity_unlinked"))
    assert unlinked is not None and unlinked.user_id == local.id


def test_someone_elses_identity_is_not_found(client, app_context, provider):
    owner = _sign_in(client, provider, _login_name())
    other = _sign_in(client, provider, _login_name())
    token = owner.get_json()["accessToken"]
    other_token = other.get_json()["accessToken"]
    (identity,) = client.get("/api/v1/auth/identities", headers=bearer(other_token)).get_json()[
        "identities"
    ]

    response = client.delete(f"/api/v1/auth/identities/{identity['id']}", headers=bearer(token))

    assert response.status_code == 404


def test_tokens_purge_deletes_the_expired_proofs_only(app_context, runner):
    now = clock.utcnow()
    db.session.add(SpentOidcProof(digest="a" * 64, expires_at=now - timedelta(seconds=1)))
    db.session.add(SpentOidcProof(digest="b" * 64, expires_at=now + timedelta(hours=1)))
    db.session.commit()

    result = runner.invoke(args=["tokens", "purge"])

    assert "1 expired OpenID proofs" in result.output
    assert db.session.scalars(select(SpentOidcProof.digest)).all() == ["b" * 64]


def _user_with_totp(client, provider) -> str:
    """An account made by a provider sign-in, with TOTP on; its email."""
    email = _login_name()
    assert _sign_in(client, provider, email).status_code == 200
    _turn_on_totp_without_a_password(
        db.session.scalars(select(User).where(User.email == email)).one()
    )
    return email


def _signed_with_amr(provider, email, amr):
    claims = provider.id_token_claims(IOS_CLIENT, sub=email, email=email, amr=amr)
    return provider.sign(claims | {"email_verified": True})


@pytest.mark.parametrize(
    ("trust", "amr", "status"),
    [("true", ["pwd", "mfa"], 200), ("true", ["pwd"], 403), ("false", ["pwd", "mfa"], 403)],
    ids=["trusted-and-done", "trusted-not-done", "done-not-trusted"],
)
def test_the_providers_second_factor_counts_only_when_trusted(
    database_url, seed_rows, provider, trust, amr, status
):
    app = make_app(
        database_url, **provider_settings(provider.issuer, AUTH_OIDC_TEST_TRUST_MFA=trust)
    )
    client = app.test_client()
    try:
        with app.app_context():
            reset_tables(seed_rows)
            email = _user_with_totp(client, provider)
            response = _exchange(client, _signed_with_amr(provider, email, amr))
            amr_claim = (
                decode_token(response.get_json()["accessToken"])["amr"] if status == 200 else None
            )
    finally:
        with app.app_context():
            dispose_engines()

    assert response.status_code == status, response.get_json()
    if status == 200:
        assert amr_claim == ["fed", "mfa"]


def test_a_sign_in_without_a_second_factor_carries_amr_fed(client, app_context, provider):
    response = _sign_in(client, provider, _login_name())

    assert decode_token(response.get_json()["accessToken"])["amr"] == ["fed"]


def test_sign_ins_draw_from_the_per_address_login_budget(database_url, seed_rows, provider):
    app = make_app(
        database_url,
        **provider_settings(provider.issuer, AUTH_RATELIMIT_CREDENTIALS_PER_IP="2 per minute"),
    )
    client = app.test_client()
    try:
        answers = [_exchange(client, "not.a.token").status_code for _ in range(3)]
    finally:
        with app.app_context():
            dispose_engines()

    assert answers == [401, 401, 429]


def test_sign_ins_links_removals_and_refusals_are_audited(client, app_context, provider):
    _sign_in(client, provider, _login_name())
    _exchange(client, "not.a.token")

    events = db.session.execute(
        select(AuthEvent.event, AuthEvent.outcome, AuthEvent.details).order_by(AuthEvent.id)
    ).all()

    assert ("oidc_login", "success", {"provider": "test"}) in events
    refused = [e for e in events if e.event == "oidc_failed"]
    assert refused[-1].details["reason"] == "invalid_id_token"
    assert "not.a.token" not in str(events)


def test_a_providers_new_signing_key_is_fetched_when_a_token_names_it(database_url, seed_rows):
    """The provider rotates its key (here: restarts with a new one on the same address); the
    first token naming the new key makes the service fetch the JWKS again."""
    port = free_port()
    clients = [native_client(IOS_CLIENT)]
    app = make_app(
        database_url,
        **provider_settings(f"http://127.0.0.1:{port}", AUTH_OIDC_RETRY_SECONDS="3"),
    )
    client = app.test_client()
    try:
        with running_provider(clients=clients, port=port) as before:
            old_key = _exchange(client, _signed_with_amr(before, _login_name(), []))
        with running_provider(clients=clients, port=port, kid="provider-key-2") as after:
            too_soon = _exchange(client, _signed_with_amr(after, _login_name(), []))
            time.sleep(3.1)
            rotated = _exchange(client, _signed_with_amr(after, _login_name(), []))
    finally:
        with app.app_context():
            dispose_engines()

    assert old_key.status_code == 200, old_key.get_json()
    assert too_soon.status_code == 401
    assert rotated.status_code == 200, rotated.get_json()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: object, claims: object = None) -> str:
    body = json.dumps(claims if claims is not None else {"sub": "x"}).encode()
    return f"{_b64(json.dumps(header).encode())}.{_b64(body)}.{_b64(b'sig')}"


@pytest.mark.parametrize(
    "id_token",
    [
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        _unsigned({"alg": "none"}),
        _unsigned({"alg": "HS256", "kid": "provider-key-1"}),
        _unsigned({"alg": "RS256", "kid": 7}),
        _unsigned({"alg": "RS256", "kid": "k" * 5000}),
        _unsigned(["not", "an", "object"]),
        _unsigned({"alg": "RS256"}, ["claims", "as", "a", "list"]),
        f"{_b64(b'not json')}.{_b64(b'{}')}.{_b64(b'sig')}",
    ],
    ids=[
        "two-parts",
        "four-parts",
        "not-base64",
        "alg-none",
        "hmac",
        "kid-number",
        "kid-huge",
        "header-list",
        "claims-list",
        "header-not-json",
    ],
)
def test_a_malformed_id_token_is_a_401_never_a_500(client, id_token):
    response = _exchange(client, id_token)

    assert response.status_code == 401, response.get_json()
    assert response.get_json()["details"] == {"reason": "invalid_id_token"}


@pytest.mark.parametrize(
    ("claims", "check"),
    [
        ({"sub": "s" * 10_000}, "sub out of bounds"),
        ({"sub": ""}, "sub out of bounds"),
        ({"exp": 10**20}, "exp out of bounds"),
        ({"exp": 2**63}, "exp out of bounds"),
        ({"exp": 253_402_300_800}, "exp out of bounds"),
    ],
    ids=["sub-10kb", "sub-empty", "exp-1e20", "exp-2^63", "exp-after-9999"],
)
def test_a_validly_signed_id_token_with_an_absurd_claim_is_a_401(
    client, app_context, provider, claims, check
):
    """Signed by the configured provider's own key, so only the service's bounds stop it."""
    signed = provider.sign(
        provider.id_token_claims(IOS_CLIENT, sub=uuid.uuid4().hex, email=_login_name()) | claims
    )

    response = _exchange(client, signed)

    assert response.status_code == 401, response.get_json()
    assert response.get_json()["details"] == {"reason": "invalid_id_token"}
    event = db.session.scalar(select(AuthEvent).where(AuthEvent.event == "oidc_failed"))
    assert event.details["check"] == check


def test_a_first_sign_in_sends_user_created_and_identity_linked(app, client, provider):
    receiver = Receiver().start()
    try:
        app.config["AUTH_WEBHOOK_ALLOW_PRIVATE"] = True
        with app.app_context():
            created = add_endpoint(url=receiver.url, events=["*"])
            db.session.commit()
        email = _login_name()

        response = _sign_in(client, provider, email)

        assert response.status_code == 200, response.get_json()
        for event_type in ("user.created", "identity.linked", "user.signed_in"):
            [received] = receiver.wait_for(event_type)
            payload = received.verified_with(created.secret)
            assert payload["data"]["user"]["email"] == email
        assert receiver.of_type("identity.linked")[0].payload["data"]["provider"] == "test"
    finally:
        receiver.stop()


def test_the_before_user_created_hook_decides_on_a_first_provider_sign_in(app, client, provider):
    hook = Receiver().start()
    try:
        app.config["AUTH_HOOK_BEFORE_USER_CREATED_URL"] = hook.url
        app.config["AUTH_HOOK_BEFORE_USER_CREATED_SECRET"] = "whsec_" + "A" * 32
        hook.answer_with({"decision": "reject", "message": "Invitation only."})
        email = _login_name()

        response = _sign_in(client, provider, email)

        assert response.status_code == 403
        assert response.get_json()["error"] == "RegistrationRejectedError"
        assert response.get_json()["message"] == "Invitation only."
        assert hook.received[0].payload["source"] == "oidc"
        with app.app_context():
            assert db.session.scalar(select(User).where(User.email == email)) is None
    finally:
        hook.stop()
