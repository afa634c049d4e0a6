"""The blog API's passkeys: adding and removing them, and signing in with one alone."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.blog import bp
from app.api.blog.schemas import PasskeyAddedSchema
from app.api.blog.schemas import PasskeyListSchema
from app.api.blog.schemas import PasskeyRegisterSchema
from app.api.blog.schemas import PasskeySignInOptionsSchema
from app.api.blog.schemas import PasskeySignInSchema
from app.api.blog.schemas import SignedInSchema
from app.api.blog.transport import session_client
from app.api.blog.transport import tokens_response
from app.api.blog.views import DIALECT
from app.api.requests import load_body
from app.core.factors import passkeys
from app.core.factors import second_factor
from app.core.tokens.tokens import policy_for

PASSKEY_LIST_SCHEMA = PasskeyListSchema()
PASSKEY_REGISTER_SCHEMA = PasskeyRegisterSchema()
PASSKEY_ADDED_SCHEMA = PasskeyAddedSchema()
SIGN_IN_OPTIONS_SCHEMA = PasskeySignInOptionsSchema()
SIGN_IN_SCHEMA = PasskeySignInSchema()
SIGNED_IN_SCHEMA = SignedInSchema()


@bp.post("/auth/passkeys/register/options")
@access_token_required
def passkey_registration_options() -> Response:
    """Creation options (WebAuthn JSON) for navigator.credentials.create()."""
    return jsonify(second_factor.passkey_registration_options(caller=current_caller))


@bp.post("/auth/passkeys/register")
@access_token_required
def register_passkey() -> tuple[Response, int]:
    """Keep the passkey the browser created; every other session of the account ends."""
    added = second_factor.add_passkey(caller=current_caller, **load_body(PASSKEY_REGISTER_SCHEMA))
    body = PASSKEY_ADDED_SCHEMA.dump(added.passkey)
    if added.recovery_codes is not None:
        body["recoveryCodes"] = added.recovery_codes
    return jsonify(body), 201


@bp.get("/auth/passkeys")
@access_token_required
def list_passkeys() -> Response:
    """The caller's passkeys."""
    found = passkeys.list_passkeys(user_id=current_caller.user.id)
    return jsonify(PASSKEY_LIST_SCHEMA.dump({"passkeys": found}))


@bp.delete("/auth/passkeys/<int:passkey_id>")
@access_token_required
def remove_passkey(passkey_id: int) -> Response:
    """Remove one of the caller's passkeys; every other session of the account ends."""
    second_factor.remove_passkey(caller=current_caller, passkey_id=passkey_id)
    return jsonify({"message": "Passkey removed"})


@bp.post("/auth/passkeys/login/options")
def passkey_sign_in_options() -> Response:
    """Request options for a passwordless sign-in, with the challengeId to send back."""
    found = passkeys.sign_in_options(**load_body(SIGN_IN_OPTIONS_SCHEMA))
    return jsonify({"challengeId": found.challenge_id, **found.options})


@bp.post("/auth/passkeys/login")
def passkey_sign_in() -> Response:
    """Sign in with a passkey alone; answered like a login."""
    data = load_body(SIGN_IN_SCHEMA)
    done = second_factor.sign_in_with_passkey(
        challenge_id=data["challenge_id"],
        credential=data["credential"],
        dialect=DIALECT,
        policy=policy_for("BLOG"),
        client=session_client(data["device_name"]),
    )
    return tokens_response(SIGNED_IN_SCHEMA.dump(done), done.tokens)
