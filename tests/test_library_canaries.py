"""Canaries for the private or half-public library APIs the service leans on. Each fails with
a message that names what changed and where the service depends on it, so that an upgrade of
Flask-Limiter, SQLAlchemy or joserfc cannot silently bring back a cost or break a behaviour.
(flask-jwt-extended is wired through its public loaders only: no canary is needed there.)
"""

import inspect
import warnings
from collections.abc import Callable
from datetime import UTC
from datetime import datetime

import jwt
import pytest
from flask import Flask
from flask.globals import request_ctx
from flask_limiter import Limiter
from joserfc.errors import ExceededSizeError
from joserfc.errors import SecurityWarning
from joserfc.jws import JWSRegistry
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

from app.core.models import SignInSession
from app.core.models import User
from app.core.models import UTCDateTime
from app.core.tokens.keys import ASYMMETRIC_ALGORITHMS
from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import public_key_entry
from app.core.tokens.verifier import TokenVerifier
from app.core.tokens.verifier import _ServiceTokens
from app.extensions import LIMITER_STATE
from app.extensions import DecoratorLimiter

OVERRIDE = "app/extensions.py DecoratorLimiter overrides it"
DIRECT = "app/core/direct_statements.py DirectStatement.prepare relies on it"


def _parameters(function: Callable[..., object]) -> list[tuple[str, object]]:
    signature = inspect.signature(function)
    return [(name, parameter.default) for name, parameter in signature.parameters.items()]


def test_canary_flask_limiter_check_request_limit_keeps_its_shape():
    assert _parameters(Limiter._check_request_limit) == [
        ("self", inspect.Parameter.empty),
        ("callable_name", None),
        ("in_middleware", True),
    ], (
        "Flask-Limiter changed Limiter._check_request_limit(callable_name, in_middleware); "
        + OVERRIDE
    )


def _limited_app(**settings: object) -> Flask:
    app = Flask(__name__)
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    app.config.update(settings)
    limiter = DecoratorLimiter(key_func=lambda: "one caller", default_limits=["1 per minute"])
    limiter.init_app(app)

    @app.get("/undecorated")
    def undecorated() -> str:
        return "ok"

    @app.get("/decorated")
    @limiter.limit("1 per minute")
    def decorated() -> str:
        return "ok"

    @app.get("/state")
    @limiter.limit("5 per minute")
    def state() -> dict[str, bool]:
        return {"kept": hasattr(request_ctx._get_current_object(), LIMITER_STATE)}

    @app.get("/charged-on-failure")
    @limiter.limit("2 per minute", deduct_when=lambda response: response.status_code == 400)
    def charged_on_failure() -> tuple[str, int]:
        return "refused", 400

    return app


def test_canary_flask_limiter_still_skips_the_before_request_pass_and_runs_decorators():
    """The override must still be what Flask-Limiter calls before each request (so a default
    limit, checked only there, never applies) and what its decorators call (so they do)."""
    client = _limited_app().test_client()

    before_request = [client.get("/undecorated").status_code for _ in range(3)]
    decorated = [client.get("/decorated").status_code for _ in range(2)]

    assert before_request == [200, 200, 200], (
        f"Flask-Limiter's before-request pass no longer goes through _check_request_limit "
        f"with in_middleware=True; {OVERRIDE}, and now pays for a pass it meant to skip"
    )
    assert decorated == [200, 429], (
        f"Flask-Limiter's decorators no longer call _check_request_limit with "
        f"in_middleware=False; {OVERRIDE}, and teams' own limits no longer apply"
    )


def test_canary_flask_limiter_hooks_after_the_view_are_all_found_and_wrapped():
    app = _limited_app()
    wrapped = [
        hook.__name__
        for hooks in (app.after_request_funcs[None], app.teardown_request_funcs[None])
        for hook in hooks
    ]

    assert wrapped == ["run_when_limited", "run_when_limited"], (
        f"Flask-Limiter no longer adds one after-request and one teardown hook bound to the "
        f"limiter (found {wrapped}); {OVERRIDE} to run them only on limited requests"
    )


def test_canary_flask_limiter_keeps_a_limited_requests_state_where_the_override_looks():
    client = _limited_app().test_client()

    assert client.get("/state").get_json() == {"kept": True}, (
        f"Flask-Limiter no longer keeps a request's state in {LIMITER_STATE} on the request "
        f"context; {OVERRIDE}, and would skip its headers and deductions"
    )


def test_limited_views_still_get_rate_limit_headers_and_conditional_deductions():
    client = _limited_app(RATELIMIT_HEADERS_ENABLED=True).test_client()

    limited = client.get("/decorated")
    statuses = [client.get("/charged-on-failure").status_code for _ in range(3)]

    assert limited.headers["X-RateLimit-Limit"] == "1"
    assert "X-RateLimit-Limit" not in client.get("/undecorated").headers
    assert statuses == [400, 400, 429]


_TWO_PARAMETERS = select(User.id).where(
    User.username == bindparam("second"), User.id == bindparam("first")
)


def test_canary_sqlalchemy_positiontup_orders_positional_parameters():
    compiled = _TWO_PARAMETERS.compile(dialect=sqlite.dialect())

    assert list(compiled.positiontup or ()) == ["second", "first"], (
        f"SQLAlchemy's SQLCompiler.positiontup no longer lists a positional statement's "
        f"parameter names in order; {DIRECT}"
    )


def test_canary_sqlalchemy_positiontup_is_none_for_named_parameters():
    compiled = _TWO_PARAMETERS.compile(dialect=postgresql.psycopg.dialect())

    assert compiled.positiontup is None, (
        f"SQLAlchemy now gives positiontup for psycopg's named parameters; {DIRECT}"
    )


def test_canary_sqlalchemy_type_processors_keep_their_signatures():
    assert [name for name, _ in _parameters(TypeEngine.bind_processor)] == ["self", "dialect"], (
        f"SQLAlchemy changed TypeEngine.bind_processor(dialect); {DIRECT}"
    )
    assert [name for name, _ in _parameters(TypeEngine.result_processor)] == [
        "self",
        "dialect",
        "coltype",
    ], f"SQLAlchemy changed TypeEngine.result_processor(dialect, coltype); {DIRECT}"


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
def test_canary_sqlalchemy_processors_round_trip_an_aware_datetime(dialect):
    """What DirectStatement does with a UTCDateTime column, as SQLAlchemy would do it."""
    impl = SignInSession.__table__.c.expires_at.type.dialect_impl(dialect)
    assert isinstance(SignInSession.__table__.c.expires_at.type, UTCDateTime)
    bind = impl.bind_processor(dialect)
    result = impl.result_processor(dialect, None)
    moment = datetime(2026, 12, 3, 18, 30, 5, tzinfo=UTC)

    stored = bind(moment) if bind else moment
    read = result(stored) if result else stored

    assert read == moment and read.tzinfo is not None, (
        f"SQLAlchemy's bind and result processors of UTCDateTime on {dialect.name} no longer "
        f"round-trip an aware datetime; {DIRECT}"
    )


def test_canary_joserfc_reads_the_algorithms_and_signature_bound_from_the_registry_class():
    """The verifier's registry (app/core/tokens/verifier.py) overrides two class attributes
    of joserfc's JWSRegistry: its EdDSA without the RFC 9864 name warning, and a signature
    bound that fits an 8192-bit RSA key's (1,366 characters)."""
    ours, stock = _ServiceTokens(algorithms=["EdDSA"]), JWSRegistry(algorithms=["EdDSA"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.get_alg("EdDSA")
    with pytest.warns(SecurityWarning):
        stock.get_alg("EdDSA")
    ours.validate_signature_size(b"A" * 1366)
    with pytest.raises(ExceededSizeError):
        stock.validate_signature_size(b"A" * 1366)


@pytest.mark.parametrize("algorithm", ASYMMETRIC_ALGORITHMS)
def test_canary_joserfc_verifies_what_pyjwt_signs_with_each_asymmetric_algorithm(algorithm):
    private_key = generate_private_key(algorithm)
    entry = public_key_entry(private_key.public_key())
    verifier = TokenVerifier(keys={entry.kid: entry}, default_kid=entry.kid, leeway=0)
    moment = int(datetime.now(UTC).timestamp())
    claims = {"type": "client", "sub": "c", "jti": "j", "iat": moment, "exp": moment + 60}
    token = jwt.encode(claims, private_key, algorithm=algorithm, headers={"kid": entry.kid})

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert verifier.decode(token) == claims, f"joserfc refuses PyJWT's {algorithm} token"
