"""One mailbox, one account: addresses are validated and folded by email-validator before
any uniqueness check, lookup or whitelist match (OWASP ASVS 5 V8.2.1)."""

import pytest

from tests.factories import PASSWORD

REGISTER = "/api/v1/auth/register"
NOT_VALID = {"email": ["Not a valid email address."]}


def _register(client, email: str, **extra):
    return client.post(REGISTER, json={"email": email, "password": PASSWORD, **extra})


@pytest.mark.parametrize(
    "email",
    ['"victim"@example.com', "victim@example.com\u200b", "vic\u200btim@example.com",
     "victim\u0007@example.com", "victim@exa\u00admple.com"],
    ids=["quoted-local-part", "trailing-zero-width-space", "inner-zero-width-space",
         "control-character", "soft-hyphen-in-domain"],
)  # fmt: skip
def test_a_look_alike_of_a_real_address_is_refused(client, email):
    _register(client, "victim@example.com")

    response = _register(client, email)

    # The schema refuses some shapes, email-validator in the core the rest: the same details.
    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"
    assert response.get_json()["details"] == NOT_VALID


@pytest.mark.parametrize(
    ("first", "second"),
    [("müller@bücher.example", "müller@xn--bcher-kva.example"),
     ("müller@xn--bcher-kva.example", "MÜLLER@BÜCHER.EXAMPLE")],
)  # fmt: skip
def test_a_unicode_domain_and_its_punycode_twin_are_one_account(client, first, second):
    registered = _register(client, first)

    twin = _register(client, second)

    assert registered.get_json()["user"]["email"] == "müller@xn--bcher-kva.example"
    assert twin.status_code == 409


def test_login_finds_the_account_by_either_spelling_of_its_domain(client):
    _register(client, "müller@bücher.example")

    for spelling in ("müller@xn--bcher-kva.example", "Müller@Bücher.example"):
        login = client.post("/api/v1/auth/login", json={"email": spelling, "password": PASSWORD})
        assert login.status_code == 200, spelling


def test_the_admin_whitelist_matches_either_spelling(app, client):
    app.config["ADMIN_EMAIL_WHITELIST"] = ["chef@bücher.example"]
    app.config["AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL"] = False

    response = _register(client, "chef@xn--bcher-kva.example", role="admin")

    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "admin"


def test_the_cli_whitelist_stores_the_canonical_form(runner):
    added = runner.invoke(args=["whitelist", "add", "Chef@Bücher.example"])
    listed = runner.invoke(args=["whitelist", "list"])

    assert added.exit_code == 0, added.output
    assert "chef@xn--bcher-kva.example" in listed.output
