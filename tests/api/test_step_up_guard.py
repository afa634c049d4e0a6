"""A team's own sensitive views: ``recent_authentication_required`` (the service's step-up,
decided by the database) and flask-jwt-extended's ``@jwt_required(fresh=True)`` (decided by
the token's ``fresh`` claim), refusing in the format of the prefix they are mounted under."""

from datetime import timedelta

import pytest
from flask import Blueprint
from flask import jsonify
from flask_jwt_extended import decode_token
from flask_jwt_extended import jwt_required

from app.api.guards import recent_authentication_required
from app.core.clock import utcnow
from app.core.tokens.tokens import mint_access_token
from tests.factories import PASSWORD
from tests.factories import age_proofs
from tests.factories import make_user
from tests.totp_codes import codes_in_order

STALE = 301
MESSAGE = "This action needs a recent authentication: prove who you are again first."
# A sensitive view mounted under each face's prefix, and under none.
PREFIXES = {
    "blog": "/api/v1/team",
    "cmg": "/auth/team",
    "staff": "/api/auth/team",
    "token-pair": "/api/users/team",
    "none": "/team",
}
REFUSALS = {
    "blog": {"error": "ReauthenticationRequiredError", "message": MESSAGE,
             "details": {"methods": ["password"]}},
    "cmg": {"statusCode": 401, "message": "Recent authentication required",
            "error": "Unauthorized"},
    "staff": {"error": "Recent authentication required"},
    "token-pair": {"detail": "Recent authentication required.",
                   "code": "reauthentication_required"},
    "none": {"error": "reauthentication_required", "message": MESSAGE, "methods": ["password"]},
}  # fmt: skip


def _team_blueprint(face: str, prefix: str) -> Blueprint:
    bp = Blueprint(f"team_{face.replace('-', '_')}", __name__, url_prefix=prefix)

    @bp.post("/payout")
    @recent_authentication_required()
    def payout():
        return jsonify({"ok": True})

    @bp.post("/factors")
    @recent_authentication_required(second_factor=True)
    def factors():
        return jsonify({"ok": True})

    @bp.get("/invoices")
    @jwt_required(fresh=True)
    def invoices():
        return jsonify({"ok": True})

    return bp


@pytest.fixture
def team_client(app, client):
    for face, prefix in PREFIXES.items():
        app.register_blueprint(_team_blueprint(face, prefix))
    return client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str) -> str:
    body = {"email": email, "password": PASSWORD}
    return client.post("/api/v1/auth/login", json=body).get_json()["accessToken"]


@pytest.mark.parametrize("face", PREFIXES)
def test_a_stale_session_is_refused_in_the_format_of_its_prefix(team_client, app_context, face):
    user = make_user()
    token = _login(team_client, user.email)
    fresh = team_client.post(f"{PREFIXES[face]}/payout", headers=_bearer(token))
    age_proofs(STALE)

    stale = team_client.post(f"{PREFIXES[face]}/payout", headers=_bearer(token))

    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert stale.get_json() == REFUSALS[face]


def test_second_factor_asks_an_account_with_one_for_it(team_client, app_context):
    user = make_user()
    token = _login(team_client, user.email)
    started = team_client.post(
        "/api/v1/auth/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token)
    ).get_json()
    codes = codes_in_order(started["secret"])
    team_client.post(
        "/api/v1/auth/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token)
    )
    age_proofs(STALE)
    by_password = team_client.post(
        "/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=_bearer(token)
    ).get_json()["accessToken"]

    any_proof = team_client.post("/team/payout", headers=_bearer(by_password))
    refused = team_client.post("/team/factors", headers=_bearer(by_password))
    by_code = team_client.post(
        "/api/v1/auth/reauthenticate", json={"code": next(codes)}, headers=_bearer(token)
    ).get_json()["accessToken"]

    assert any_proof.status_code == 200
    assert refused.status_code == 401
    assert refused.get_json()["methods"] == ["totp", "recoveryCode"]
    assert team_client.post("/team/factors", headers=_bearer(by_code)).status_code == 200


def test_jwt_required_fresh_follows_the_tokens_fresh_claim(team_client, app_context):
    """flask-jwt-extended compares ``fresh`` with its own clock: a token minted (forged here,
    with the session's real id and signing key) from a proof ten minutes old is refused, and
    a reauthentication's token passes."""
    user = make_user()
    token = _login(team_client, user.email)
    old_proof = mint_access_token(
        user=user,
        session_id=decode_token(token)["sid"],
        ttl=timedelta(minutes=15),
        auth_time=utcnow() - timedelta(minutes=10),
    )

    fresh = team_client.get("/team/invoices", headers=_bearer(token))
    stale = team_client.get("/team/invoices", headers=_bearer(old_proof))
    reauthenticated = team_client.post(
        "/api/v1/auth/reauthenticate", json={"password": PASSWORD}, headers=_bearer(old_proof)
    ).get_json()["accessToken"]
    again = team_client.get("/team/invoices", headers=_bearer(reauthenticated))

    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert stale.get_json() == REFUSALS["none"]
    assert again.status_code == 200
