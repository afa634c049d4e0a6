"""The blog API's sign-in with OpenID providers, and the identities linked to an account."""

from urllib.parse import urlencode

from flask import Response
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import request
from flask import url_for
from werkzeug.wrappers import Response as BaseResponse

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.blog import bp
from app.api.blog.schemas import AppCodeExchangeSchema
from app.api.blog.schemas import IdentityListSchema
from app.api.blog.schemas import NativeSignedInSchema
from app.api.blog.schemas import OidcProviderListSchema
from app.api.blog.schemas import OidcTokenExchangeSchema
from app.api.blog.transport import COOKIE
from app.api.blog.transport import session_client
from app.api.blog.views import DIALECT
from app.api.cookies import attach_refresh_cookie
from app.api.requests import load_body
from app.core.audit.origin import current_client
from app.core.configuration import frontend_url
from app.core.errors import AuthServiceError
from app.core.errors import EmailNotVerifiedError
from app.core.errors import MfaRequiredError
from app.core.errors import TooManyAttemptsError
from app.core.federation import app_handoff
from app.core.federation import oidc
from app.core.federation import oidc_flow
from app.core.federation.app_handoff import AppReturn
from app.core.federation.oidc import OidcError
from app.core.tokens.tokens import policy_for

FLOW_COOKIE = "oidcFlow"

PROVIDER_LIST_SCHEMA = OidcProviderListSchema()
TOKEN_EXCHANGE_SCHEMA = OidcTokenExchangeSchema()
CODE_EXCHANGE_SCHEMA = AppCodeExchangeSchema()
SIGNED_IN_SCHEMA = NativeSignedInSchema()
IDENTITY_LIST_SCHEMA = IdentityListSchema()


@bp.get("/auth/oidc")
def list_oidc_providers() -> Response:
    """The providers a login page may offer."""
    names = oidc.provider_names()
    return jsonify(PROVIDER_LIST_SCHEMA.dump({"providers": [{"name": n} for n in names]}))


@bp.post("/auth/oidc/<string:provider>/token")
def exchange_oidc_id_token(provider: str) -> Response:
    """A native app's sign-in with the ID token its provider's SDK obtained; the tokens in
    the body."""
    body = load_body(TOKEN_EXCHANGE_SCHEMA)
    signed_in = oidc.exchange_id_token(
        provider=provider,
        id_token=body["id_token"],
        nonce=body["nonce"],
        dialect=DIALECT,
        policy=policy_for("BLOG"),
        client=session_client(body["device_name"], app_only=True),
    )
    return jsonify(SIGNED_IN_SCHEMA.dump(signed_in))


@bp.post("/auth/oidc/exchange")
def exchange_app_code() -> Response:
    """A native app's sign-in through the system browser: the one-time code its redirect
    URI received and the PKCE verifier only it holds, for tokens in the body."""
    body = load_body(CODE_EXCHANGE_SCHEMA)
    signed_in = app_handoff.redeem(
        code=body["code"],
        code_verifier=body["code_verifier"],
        dialect=DIALECT,
        policy=policy_for("BLOG"),
        client=session_client(body["device_name"], app_only=True),
    )
    return jsonify(SIGNED_IN_SCHEMA.dump(signed_in))


@bp.get("/auth/identities")
@access_token_required
def list_identities() -> Response:
    """The provider accounts linked to the caller's account."""
    found = oidc.list_identities(user_id=current_caller.user.id)
    return jsonify(IDENTITY_LIST_SCHEMA.dump({"identities": found}))


@bp.delete("/auth/identities/<int:identity_id>")
@access_token_required
def unlink_identity(identity_id: int) -> Response:
    """Remove a linked provider account, unless it is the account's last way in."""
    oidc.unlink(caller=current_caller, identity_id=identity_id)
    return jsonify({"message": "Identity removed"})


@bp.get("/auth/oidc/<string:provider>/login")
def start_oidc_sign_in(provider: str) -> BaseResponse:
    """Send the browser to the provider; it comes back to the callback. A native app names
    its registered redirect URI as ``next``, with a PKCE ``code_challenge`` (and an optional
    ``state``): it gets a one-time code there instead of a session."""
    app = app_handoff.app_return(
        next_uri=request.args.get("next"),
        code_challenge=request.args.get("code_challenge"),
        challenge_method=request.args.get("code_challenge_method"),
        state=request.args.get("state"),
    )
    try:
        started = oidc_flow.begin(
            provider=provider,
            redirect_uri=_callback_url(provider),
            next_path=request.args.get("next"),
            app=app,
        )
    except OidcError as error:
        return _refused(app, error.reason)
    return _with_flow_cookie(redirect(started.authorization_url), provider, started.sealed_flow)


@bp.post("/auth/oidc/<string:provider>/link")
@access_token_required
def start_oidc_link(provider: str) -> BaseResponse:
    """Start the web flow that links a provider account to the caller's: the SPA sends the
    browser to ``authorizationUrl``; the callback links instead of signing in."""
    started = oidc_flow.begin(
        provider=provider,
        redirect_uri=_callback_url(provider),
        next_path=request.args.get("next"),
        link=current_caller,
    )
    body = jsonify({"authorizationUrl": started.authorization_url})
    return _with_flow_cookie(body, provider, started.sealed_flow)


@bp.get("/auth/oidc/<string:provider>/callback")
def finish_oidc_sign_in(provider: str) -> BaseResponse:
    """The provider's return: a session (the refreshToken cookie) and a redirect to the
    frontend, or a redirect to its login page with ?error=<reason>; never a session then. A
    native app's sign-in returns to the app with ?code= (or ?error=) instead."""
    app = oidc_flow.app_of(request.cookies.get(FLOW_COOKIE))
    try:
        outcome = oidc_flow.finish(
            provider=provider,
            params=request.args.to_dict(),
            sealed_flow=request.cookies.get(FLOW_COOKIE),
            dialect=DIALECT,
            policy=policy_for("BLOG"),
            client=current_client(),
        )
    except MfaRequiredError as error:
        response = _to_frontend_login(fragment=_second_step_fragment(error))
    except OidcError as error:
        response = _refused(app, error.reason)
    except TooManyAttemptsError:
        response = _refused(app, "rate_limited")
    except EmailNotVerifiedError:
        response = _refused(app, "email_not_verified")
    except AuthServiceError:
        response = _refused(app, "sign_in_failed")
    except Exception:
        # A browser navigation gets a page to land on, never a 500: a database outage or a
        # bug is logged (with its traceback) and the user is sent back to try again.
        current_app.logger.exception("OpenID callback failed")
        response = _refused(app, "server_error")
    else:
        response = _landing(outcome)
    response.delete_cookie(FLOW_COOKIE, path=_callback_path(provider))
    return response


def _callback_path(provider: str) -> str:
    return url_for("blog.finish_oidc_sign_in", provider=provider)


def _callback_url(provider: str) -> str:
    """The redirect URI registered at the provider: on AUTH_PUBLIC_URL, never on the Host a
    request names (outside production, where that is unset, on the request's own host)."""
    public = current_app.config["AUTH_PUBLIC_URL"]
    if public:
        return public.rstrip("/") + _callback_path(provider)
    return url_for("blog.finish_oidc_sign_in", provider=provider, _external=True)


def _with_flow_cookie(response: BaseResponse, provider: str, sealed_flow: str) -> BaseResponse:
    response.set_cookie(
        FLOW_COOKIE,
        sealed_flow,
        max_age=oidc_flow.FLOW_SECONDS,
        path=_callback_path(provider),
        secure=current_app.config["AUTH_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _landing(
    outcome: oidc_flow.SignedInByProvider | oidc_flow.Linked | oidc_flow.HandedToApp,
) -> BaseResponse:
    if isinstance(outcome, oidc_flow.HandedToApp):
        return redirect(outcome.app_url)
    response = redirect(frontend_url(outcome.next_path))
    if isinstance(outcome, oidc_flow.SignedInByProvider):
        attach_refresh_cookie(response, outcome.signed_in.tokens, **COOKIE)
    return response


def _refused(app: AppReturn | None, reason: str) -> BaseResponse:
    """Back where the sign-in started, with the reason: the app, or the frontend's login."""
    if app is not None:
        return redirect(app.url(error=reason))
    return _to_frontend_login(error=reason)


def _to_frontend_login(*, error: str | None = None, fragment: str = "") -> BaseResponse:
    query = f"?{urlencode({'error': error})}" if error else ""
    return redirect(frontend_url("/login") + query + fragment)


def _second_step_fragment(error: MfaRequiredError) -> str:
    """The mfaToken in the fragment, which browsers never send to a server or a Referer."""
    methods = ",".join(error.details.get("methods", []))
    return "#" + urlencode({"mfaToken": error.details["mfaToken"], "methods": methods})
