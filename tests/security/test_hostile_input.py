"""Hostile input gets the dialect's 4xx JSON, never a 500, and creates nothing
(OWASP ASVS 5 V1.2/V1.5 input handling, V2.2 validation)."""

import pytest

from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_user

# One JSON endpoint of each dialect that creates or changes state.
ENDPOINTS = [
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/auth/login",
    "/auth",
    "/api/auth/login",
    "/api/token/",
    "/api/token/refresh/",
    "/api/token/verify/",
]


def _user_count() -> int:
    return db.session.scalar(db.select(db.func.count(User.id)))


@pytest.fixture
def no_new_users(app_context):
    before = _user_count()
    yield
    assert _user_count() == before


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("content_type", "data", "status"),
    [
        ("application/x-www-form-urlencoded", "email=a%40b.co&password=x", 415),
        ("text/plain", '{"email": "a@b.co"}', 415),
        ("multipart/form-data; boundary=x", "--x--", 415),
        (None, '{"email": "a@b.co"}', 415),
        ("application/json", '{"email": ', 400),
        ("application/json", "[1, 2, 3]", 400),
        ("application/json", '"just a string"', 400),
        ("application/json", "null", 400),
        ("application/json", "[" * 30_000 + "]" * 30_000, 400),
    ],
    ids=["form", "text", "multipart", "no-type", "broken", "array", "string", "null", "deep"],
)
def test_bodies_that_are_not_a_json_object_get_a_4xx_json(
    client, no_new_users, path, content_type, data, status
):
    """ASVS 5 V1.5.1: only the expected content type and structure are parsed; nesting
    deep enough to exhaust the parser's recursion is a 400, not a 500."""
    headers = {} if content_type is None else {"Content-Type": content_type}

    response = client.post(path, data=data, headers=headers)

    assert response.status_code == status
    assert response.is_json


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    [
        {"email": {"$ne": None}, "password": {"$ne": None}},
        {"username": {"$gt": ""}, "password": ["x"]},
        {"email": "a\x00@example.com", "password": PASSWORD, "username": "nul\x00l"},
        {"email": "\ud800@example.com", "password": "\udfff" * 10, "username": "\ud83d"},
        {"email": True, "password": 12345678, "username": 1.5, "refresh": 7, "token": None},
        {"clientId": {"a": 1}, "clientKey": ["b"]},
    ],
    ids=["operator-objects", "operator-mixed", "nul-bytes", "lone-surrogates", "wrong-types",
         "client-objects"],
)  # fmt: skip
def test_wrong_types_nul_bytes_and_surrogates_are_a_400(client, no_new_users, path, body):
    """ASVS 5 V2.2.1: values are validated against their type; injection-shaped objects,
    NUL bytes and lone surrogates never reach the database."""
    response = client.post(path, json=body)

    assert 400 <= response.status_code < 500
    assert response.is_json


def test_a_huge_string_inside_the_size_limit_is_refused(client, no_new_users):
    """ASVS 5 V2.2.1: every field has an upper bound."""
    response = client.post(
        "/api/v1/auth/register", json={"email": "a" * 60_000 + "@example.com", "password": PASSWORD}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/users/current", "/auth/me", "/api/users/me/"])
def test_a_huge_authorization_header_is_a_401(client, path):
    """ASVS 5 V1.5.1: an oversized token is refused like any invalid one."""
    response = client.get(path, headers={"Authorization": "Bearer " + "a" * 50_000})

    assert response.status_code == 401
    assert response.is_json


def test_control_characters_in_the_user_agent_are_not_stored(app_context, client):
    """ASVS 5 V16.4.1: a header shown later (sessions, logs) is stored without control
    characters."""
    from app.core.models import SignInSession

    user = make_user()
    client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"User-Agent": "evil\x1b[31m red\x07\x7f agent"},
    )

    assert db.session.scalars(db.select(SignInSession.user_agent)).one() == "evil[31m red agent"


@pytest.mark.parametrize(
    "variant",
    ["TAKEN@example.com", " taken@example.com ", "ｔａｋｅｎ@example.com", "taken@EXAMPLE.COM"],
)
def test_case_space_and_width_variants_of_an_email_never_make_a_second_account(
    app_context, client, variant
):
    """ASVS 5 V6.3.x: emails are normalised once (NFKC, trim, lower-case) before the
    uniqueness check, so a look-alike cannot register beside the original."""
    make_user(email="taken@example.com")
    before = _user_count()

    response = client.post("/api/v1/auth/register", json={"email": variant, "password": PASSWORD})

    assert response.status_code in (400, 409)
    assert _user_count() == before


@pytest.mark.parametrize("variant", ["Chief@Example.com", "ｃｈｉｅｆ@example.com"])
def test_the_admin_whitelist_matches_the_normalised_email(app, client, variant):
    """ASVS 5 V8.2.1: a whitelisted address in another case or width still matches, and
    nothing but the normalised address does."""
    app.config["ADMIN_EMAIL_WHITELIST"] = ["chief@example.com"]
    app.config["AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL"] = False  # admin at once, to show the match

    response = client.post(
        "/api/v1/auth/register", json={"email": variant, "password": PASSWORD, "role": "admin"}
    )

    assert response.status_code == 201
    assert response.get_json()["user"] == response.get_json()["user"] | {
        "email": "chief@example.com",
        "role": "admin",
    }


def test_a_look_alike_of_a_whitelisted_email_is_not_whitelisted(app, client):
    """ASVS 5 V8.2.1: a different address that merely looks alike (Cyrillic 'а') is not
    on the whitelist."""
    app.config["ADMIN_EMAIL_WHITELIST"] = ["chief@example.com"]

    response = client.post(
        "/api/v1/auth/register",
        json={"email": "chiеf@example.com", "password": PASSWORD, "role": "admin"},
    )

    assert response.status_code == 403


def test_usernames_are_case_insensitive(app_context, client):
    """ASVS 5 V6.3.x: 'John.Doe' and 'john.doe' are one account."""
    from app.core.errors import ConflictError

    make_user(username="John.Doe")

    with pytest.raises(ConflictError):
        make_user(username="JOHN.DOE")
    response = client.post("/auth/login", json={"username": "JOHN.doe", "password": PASSWORD})
    assert response.status_code == 200
