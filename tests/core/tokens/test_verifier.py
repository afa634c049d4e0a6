"""joserfc reads the service's tokens (app/core/tokens/verifier.py); PyJWT is the reference.

On every generated token, well-formed or damaged, the verifier must reach PyJWT's verdict
with the service's rules applied on top: the same claims, or the same refusal; once with no
issuer or audience configured, once with both. The differences are deliberate, all toward
refusing: PyJWT accepts trailing ``=`` (some issuers pad) and an empty ``aud``, and, with no
issuer configured, ignores ``iss``; the service mints none of these, so it accepts none. A
``kid`` must name the service's key (PyJWT, given the key, does not look at it); a token
without one is checked with the signing key.
"""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from joserfc.jws import deserialize_compact

from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.tokens import verifier as verifier_module
from app.core.tokens.keys import secret_key_entry
from app.core.tokens.verifier import TokenVerifier
from app.core.tokens.verifier import _claims_problem
from app.core.tokens.verifier import _header_problem

KEY = "k" * 64
OTHER_KEY = "o" * 64
KID = secret_key_entry(KEY).kid
ISSUER = "https://auth.test"
AUDIENCE = "svc"
PLAIN = TokenVerifier(keys={KID: secret_key_entry(KEY)}, default_kid=KID, leeway=0)
ADDRESSED = TokenVerifier(
    keys=PLAIN.keys, default_kid=KID, leeway=0, issuer=ISSUER, audiences=frozenset([AUDIENCE])
)
REMEMBERING = TokenVerifier(keys=PLAIN.keys, default_kid=KID, leeway=0, cache_size=64)
INVALID = "invalid"
EXPIRED = "expired"


def reference_verdict(raw: str, verifier: TokenVerifier) -> Any:
    """What PyJWT's decode, then the service's header and claim rules, make of ``raw``."""
    if "=" in raw:
        return INVALID
    decoder = jwt.PyJWT(options={"require": ["exp", "iat", "sub", "jti"]})
    audience = sorted(verifier.audiences) or None
    try:
        decoded = decoder.decode_complete(
            raw, key=KEY, algorithms=["HS256"], issuer=verifier.issuer, audience=audience
        )
    except jwt.ExpiredSignatureError:
        header = jwt.get_unverified_header(raw)
        claims = decoder.decode(raw, options={"verify_signature": False})
        return INVALID if _shape_problem(header, claims) else EXPIRED
    except (jwt.InvalidTokenError, ValueError, TypeError):
        return INVALID
    header, payload = decoded["header"], decoded["payload"]
    if _shape_problem(header, payload):
        return INVALID
    if verifier.issuer is None and "iss" in payload:
        return INVALID
    if not verifier.audiences and "aud" in payload:
        return INVALID
    return payload


def _shape_problem(header: dict[str, Any], claims: dict[str, Any]) -> bool:
    """The service's own header and claim rules, which PyJWT does not apply."""
    wrong_kid = header.get("kid", KID) != KID
    return wrong_kid or bool(_header_problem(header) or _claims_problem(claims))


def verdict(raw: str, verifier: TokenVerifier = PLAIN) -> Any:
    try:
        return verifier.decode(raw)
    except TokenExpiredError:
        return EXPIRED
    except TokenInvalidError:
        return INVALID


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# Read once, at import: a day either side, so a suite that runs for an hour still sees every
# future date in the future and every past one in the past.
now = int(time.time())
DAY = 24 * 3600
EXPIRED_CLAIMS = {"type": "client", "sub": "7", "jti": "j", "iat": now - 200, "exp": now - 100}
# Far from now, so the two readers, a few microseconds apart, see the same side of it.
seconds = st.sampled_from([now - 2 * DAY, now - DAY, now + DAY, now + 2 * DAY]) | st.sampled_from(
    [None, "1700000000", 1.5, True, -1, 2**70, 10**20, 2**63, 10**400, 253_402_300_800]
)
texts = st.sampled_from(["7", "abc", "", "x" * 65, "é"]) | st.none() | st.integers(0, 9)
claims = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["access", "refresh", "client", "id", 1]),
        "sub": texts,
        "jti": texts,
        "sid": texts,
        "exp": seconds,
        "iat": seconds,
        "nbf": seconds,
        "aud": st.sampled_from(["svc", ["svc"], ["other", "svc"], "other", [1]]),
        "iss": st.sampled_from(["someone", ISSUER]),
    },
)
well_formed_claims = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["access", "refresh", "client"]),
        "sub": st.just("7"),
        "jti": st.just("j" * 36),
        "sid": st.just("s" * 36),
        "exp": st.sampled_from([now - DAY, now + DAY]),
        "iat": st.sampled_from([now - DAY - 100, now - 1, now + DAY]),
    },
    optional={
        "nbf": st.sampled_from([now - DAY - 100, now + DAY]),
        "aud": st.sampled_from(["svc", ["svc"], ""]),
        "iss": st.sampled_from(["someone", ISSUER]),
    },
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "HS256", "HS384", "none", "RS256", 256, None])},
    optional={
        "typ": st.sampled_from(["JWT", "at+jwt", 1]),
        "kid": st.sampled_from(["k1", 7, None, KID, KID, ["x"]]),
        "crit": st.just(["exp"]),
        "b64": st.just(False),
        "jku": st.just("https://attacker.example/jwks"),
    },
)


def sign(header: dict[str, Any], payload: Any, key: str = KEY) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    algorithm = jwt.algorithms.get_default_algorithms()["HS256"]
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(key))
    return f"{signing_input}.{b64(signature)}"


def mutate(token: str, draw: st.DrawFn) -> str:
    kind = draw(
        st.sampled_from(["none", "flip", "pad", "insert", "cut", "swap", "join", "canonical"])
    )
    if kind == "none":
        return token
    position = draw(st.integers(0, len(token) - 1))
    if kind == "flip":
        character = draw(st.sampled_from("Aa0_-.=+/ \u00e9"))
        return token[:position] + character + token[position + 1 :]
    if kind == "pad":
        segment = draw(st.integers(0, 2))
        parts = token.split(".")
        parts[segment] += "=" * draw(st.integers(1, 3))
        return ".".join(parts)
    if kind == "insert":
        extra = draw(st.sampled_from(["..", ".", "\n", "%", "A"]))
        return token[:position] + extra + token[position:]
    if kind == "cut":
        return token[:position]
    if kind == "swap":
        header, payload, signature = token.split(".")
        return ".".join([payload, header, signature])
    if kind == "join":
        return token + "." + token.split(".")[2]
    # The last character's spare bits changed: the same bytes, another spelling.
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(last) ^ 1]


@st.composite
def tokens(draw: st.DrawFn) -> str:
    payload = draw(well_formed_claims | claims | st.sampled_from([[], "x", 7, None]))
    header = draw(headers | st.just({"alg": "HS256", "typ": "JWT"}))
    key = draw(st.sampled_from([KEY, KEY, OTHER_KEY]))
    return mutate(sign(header, payload, key), draw)


@settings(max_examples=1500, deadline=None)
@given(token=tokens())
# Found by this test: an expired token whose header the service refuses is invalid, not expired.
@example(token=sign({"alg": "HS256", "typ": "at+jwt"}, EXPIRED_CLAIMS))
def test_the_verifier_reaches_pyjwts_verdict_on_every_generated_token(token):
    assert verdict(token, PLAIN) == reference_verdict(token, PLAIN)
    assert verdict(token, ADDRESSED) == reference_verdict(token, ADDRESSED)
    # Remembering verified tokens changes no verdict, on first sight or on the next.
    assert verdict(token, REMEMBERING) == verdict(token, REMEMBERING) == verdict(token, PLAIN)


@given(payload=well_formed_claims)
def test_a_well_formed_token_is_read_to_the_claims_it_carries(payload):
    token = sign({"alg": "HS256", "typ": "JWT"}, payload)

    if payload["iat"] > now or payload.get("nbf", 0) > now:
        expected = INVALID
    elif payload["exp"] < now:
        expected = EXPIRED
    else:
        expected = INVALID if "aud" in payload or "iss" in payload else payload
    assert verdict(token) == expected


@pytest.mark.parametrize(
    "token",
    [
        sign({"alg": "HS256"}, {"type": "access"}) + "=",
        "a" * 9000,
        "",
        "a.b",
        "a.b.c.d",
    ],
)
def test_padded_oversized_and_misshapen_tokens_are_refused_before_any_check(token):
    assert verdict(token) == INVALID


class SignatureChecks:
    """joserfc's compact reading, counting the tokens whose signature it checks."""

    def __init__(self) -> None:
        self.checks = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.checks += 1
        return deserialize_compact(*args, **kwargs)


@pytest.fixture
def counter(monkeypatch) -> SignatureChecks:
    counting = SignatureChecks()
    monkeypatch.setattr(verifier_module, "deserialize_compact", counting)
    return counting


def _remembering(cache_size: int) -> TokenVerifier:
    return TokenVerifier(keys=PLAIN.keys, default_kid=KID, leeway=0, cache_size=cache_size)


def _live_claims(**extra: Any) -> dict[str, Any]:
    moment = int(time.time())
    return {"type": "client", "jti": "j", "sub": "1", "iat": moment, "exp": moment + 60} | extra


def test_a_token_already_verified_is_not_signature_checked_again(counter):
    verifier = _remembering(cache_size=8)
    token = sign({"alg": "HS256", "typ": "JWT"}, _live_claims())

    first, second = verifier.decode(token), verifier.decode(token)

    assert first == second == _live_claims() | {"iat": first["iat"], "exp": first["exp"]}
    assert counter.checks == 1


def test_a_remembered_token_is_still_refused_once_it_expires(frozen_clock, counter):
    verifier = _remembering(cache_size=8)
    token = sign({"alg": "HS256", "typ": "JWT"}, _live_claims())
    verifier.decode(token)

    frozen_clock.advance(61)

    with pytest.raises(TokenExpiredError):
        verifier.decode(token)
    assert counter.checks == 1


def test_a_refused_token_is_checked_again_every_time(counter):
    verifier = _remembering(cache_size=8)
    forged = sign({"alg": "HS256", "typ": "JWT"}, _live_claims(), OTHER_KEY)

    for _ in range(3):
        with pytest.raises(TokenInvalidError):
            verifier.decode(forged)

    assert counter.checks == 3


def test_the_remembered_tokens_are_bounded(counter):
    bounded = _remembering(cache_size=2)
    tokens = [sign({"alg": "HS256", "typ": "JWT"}, _live_claims(jti=f"j{n}")) for n in range(3)]

    for token in [*tokens, tokens[0]]:
        bounded.decode(token)

    assert counter.checks == 4  # the first was forgotten when the third came


def test_a_size_of_zero_remembers_no_token(counter):
    plain = _remembering(cache_size=0)
    token = sign({"alg": "HS256", "typ": "JWT"}, _live_claims())

    plain.decode(token)
    plain.decode(token)

    assert counter.checks == 2


def test_a_caller_changing_the_claims_it_got_changes_nothing_remembered():
    verifier = _remembering(cache_size=8)
    token = sign({"alg": "HS256", "typ": "JWT"}, _live_claims())

    verifier.decode(token)["type"] = "access"

    assert verifier.decode(token)["type"] == "client"
