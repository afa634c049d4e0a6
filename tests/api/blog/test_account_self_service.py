"""Account self-service on the blog API: the profile, the email address (confirmed through
the new mailbox, a real SMTP server on loopback), the account's data and its deletion."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func
from sqlalchemy import select

from app.core.models import AccountToken
from app.core.models import SignInSession
from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import age_proofs
from tests.factories import make_admin
from tests.factories import make_user
from tests.mailbox import text_of
from tests.mailbox import token_in
from tests.matchers import TIMESTAMP
from tests.matchers import blog_error
from tests.matchers import blog_user
from tests.totp_codes import codes_in_order

AUTH = "/api/v1/auth"
CURRENT = "/api/v1/users/current"
STALE = 301
CHANGE_SUBJECT = "Confirm your new email address"
CHANGED_SUBJECT = "The email address of your account was changed"
RESET_SUBJECT = "Reset your password"
BAD_TOKEN = blog_error(
    "ValidationError",
    "Invalid or expired email change token.",
    {"token": ["Invalid, expired or already used."]},
)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email: str, password: str = PASSWORD):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def _token(client, email: str) -> str:
    response = _login(client, email)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["accessToken"]


@pytest.fixture
def owner(app_context):
    return make_user(email="owner@example.com", username="owner")


# The profile


def test_a_user_changes_their_own_profile(client, owner):
    token = _token(client, owner.email)
    changes = {
        "username": "Ada.L",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "displayName": "Ada L.",
        "socialLinks": {"website": "https://ada.example"},
        "locale": "pt_br",
    }

    response = client.patch(CURRENT, json=changes, headers=_bearer(token))

    expected = blog_user(
        "owner@example.com",
        "ada.l",
        firstName="Ada",
        lastName="Lovelace",
        displayName="Ada L.",
        socialLinks={"website": "https://ada.example"},
        locale="pt-BR",
    )
    assert (response.status_code, response.get_json()) == (200, expected)
    assert client.get(CURRENT, headers=_bearer(token)).get_json() == expected


def test_a_profile_field_set_to_null_is_cleared(client, owner):
    token = _token(client, owner.email)
    client.patch(CURRENT, json={"firstName": "Ada"}, headers=_bearer(token))

    response = client.patch(CURRENT, json={"firstName": None}, headers=_bearer(token))

    assert response.get_json()["firstName"] is None


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"email": "other@example.com"}, {"email": ["Unknown field."]}),
        ({"role": "admin"}, {"role": ["Unknown field."]}),
        ({"username": "ab"}, {"username": ["Length must be between 3 and 150."]}),
        ({"firstName": "x" * 101}, {"firstName": ["Longer than maximum length 100."]}),
        (
            {"socialLinks": {"site": "javascript:alert(1)"}},
            {"socialLinks": {"site": {"value": ["Not a valid URL."]}}},
        ),
        ({"socialLinks": []}, {"socialLinks": ["Not a valid mapping type."]}),
        ({"locale": ""}, {"locale": ["Length must be between 1 and 35."]}),
    ],
)
def test_a_profile_change_the_schema_refuses_is_a_400(client, owner, body, details):
    token = _token(client, owner.email)

    response = client.patch(CURRENT, json=body, headers=_bearer(token))

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Validation failed.", details)


@pytest.mark.parametrize(
    ("body", "details"),
    [
        (
            {"username": "not valid!"},
            {"username": ["A username is 3 to 150 of a-z, 0-9, '_', '.' or '-'."]},
        ),
        ({"locale": "../../etc"}, {"locale": ["Not a language tag (such as en or pt-BR)."]}),
    ],
)
def test_a_profile_value_the_core_refuses_is_a_400_and_changes_nothing(
    client, owner, body, details
):
    token = _token(client, owner.email)

    response = client.patch(CURRENT, json=body | {"firstName": "Ada"}, headers=_bearer(token))

    assert response.status_code == 400
    assert response.get_json()["details"] == details
    assert client.get(CURRENT, headers=_bearer(token)).get_json()["firstName"] is None


def test_a_username_another_account_has_is_a_409(client, owner):
    make_user(username="taken.name")
    token = _token(client, owner.email)

    response = client.patch(CURRENT, json={"username": "Taken.Name"}, headers=_bearer(token))

    assert response.status_code == 409
    assert response.get_json() == blog_error("ConflictError", "Username is already taken.")


def test_keeping_ones_own_username_is_no_conflict(client, owner):
    token = _token(client, owner.email)

    response = client.patch(CURRENT, json={"username": "owner"}, headers=_bearer(token))

    assert response.status_code == 200


def test_the_profile_needs_a_token(client):
    response = client.patch(CURRENT, json={"firstName": "Ada"})

    assert response.status_code == 401


# The email address


def _ask_change(client, token: str, email: str = "new@example.com", **extra):
    return client.post(f"{CURRENT}/email", json={"email": email, **extra}, headers=_bearer(token))


def _confirm(client, token: str, headers: dict[str, str] | None = None):
    return client.post(f"{AUTH}/email-change/confirm", json={"token": token}, headers=headers)


def test_an_email_change_takes_effect_only_when_the_new_mailbox_confirms(
    app, client, owner, mailbox
):
    other_device = app.test_client()
    other_token = _token(other_device, owner.email)
    token = _token(client, owner.email)

    asked = _ask_change(client, token)
    mail = mailbox.wait_for("new@example.com", CHANGE_SUBJECT)

    assert (asked.status_code, asked.get_json()) == (
        202,
        {"message": "A confirmation link has been sent to the new address."},
    )
    assert "/confirm-email-change?token=" in text_of(mail)
    assert _login(app.test_client(), owner.email).status_code == 200  # the old one still works

    confirmed = _confirm(client, token_in(mail), headers=_bearer(token))

    assert confirmed.status_code == 200
    assert confirmed.get_json() == {
        "message": "Email changed",
        "user": blog_user("new@example.com", "owner", emailVerified=True),
    }
    assert _login(app.test_client(), "owner@example.com").status_code == 400
    assert _login(app.test_client(), "new@example.com").status_code == 200
    assert client.get(CURRENT, headers=_bearer(token)).status_code == 200  # this session stays
    assert other_device.get(CURRENT, headers=_bearer(other_token)).status_code == 401
    notice = mailbox.wait_for("owner@example.com", CHANGED_SUBJECT)
    assert "was changed to n***@example.com" in text_of(notice)


def test_a_confirmation_link_opened_without_a_session_ends_every_session(
    app, client, owner, mailbox
):
    token = _token(client, owner.email)
    _ask_change(client, token)
    mail = mailbox.wait_for("new@example.com", CHANGE_SUBJECT)

    confirmed = _confirm(app.test_client(), token_in(mail))

    assert confirmed.status_code == 200
    assert client.get(CURRENT, headers=_bearer(token)).status_code == 401


def test_a_confirmation_link_works_once(client, owner, mailbox):
    token = _token(client, owner.email)
    _ask_change(client, token)
    mail_token = token_in(mailbox.wait_for("new@example.com", CHANGE_SUBJECT))
    assert _confirm(client, mail_token).status_code == 200

    again = _confirm(client, mail_token)

    assert (again.status_code, again.get_json()) == (400, BAD_TOKEN)


def test_an_email_change_on_a_stale_session_asks_for_a_fresh_proof(client, owner, mailbox):
    token = _token(client, owner.email)
    age_proofs(STALE)

    refused = _ask_change(client, token)
    with_password = _ask_change(client, token, password=PASSWORD)

    assert refused.status_code == 401
    assert refused.get_json()["error"] == "ReauthenticationRequiredError"
    assert with_password.status_code == 202


def test_an_email_change_with_a_wrong_password_is_refused(client, owner, mailbox):
    token = _token(client, owner.email)

    response = _ask_change(client, token, password="not the password")

    assert response.status_code == 400
    assert mailbox.to("new@example.com") == []


@pytest.mark.parametrize(
    ("email", "status", "message"),
    [
        ("taken@example.com", 409, "Email is already registered."),
        ("OWNER@example.com", 400, "This is already the account's email address."),
    ],
)
def test_an_address_the_account_cannot_take_is_refused_at_once(
    client, owner, email, status, message
):
    make_user(email="taken@example.com")
    token = _token(client, owner.email)

    response = _ask_change(client, token, email=email)

    assert response.status_code == status
    assert response.get_json()["message"] == message


def test_an_address_taken_before_the_confirmation_is_a_409_and_nothing_changes(
    client, owner, mailbox
):
    token = _token(client, owner.email)
    _ask_change(client, token)
    mail_token = token_in(mailbox.wait_for("new@example.com", CHANGE_SUBJECT))
    make_user(email="new@example.com")

    response = _confirm(client, mail_token)

    assert response.status_code == 409
    assert db.session.get(User, owner.id, populate_existing=True).email == "owner@example.com"


def test_a_second_change_mail_within_the_interval_is_a_429(client, owner, mailbox):
    token = _token(client, owner.email)
    assert _ask_change(client, token).status_code == 202

    again = _ask_change(client, token, email="newer@example.com")

    assert again.status_code == 429
    assert again.get_json()["error"] == "RateLimitError"


def test_only_the_newest_change_link_works(app, client, owner, mailbox):
    app.config["AUTH_MAIL_INTERVAL_SECONDS"] = 0
    token = _token(client, owner.email)
    _ask_change(client, token)
    first = token_in(mailbox.wait_for("new@example.com", CHANGE_SUBJECT))
    _ask_change(client, token, email="newer@example.com")
    newest = token_in(mailbox.wait_for("newer@example.com", CHANGE_SUBJECT))

    assert _confirm(client, first).status_code == 400
    assert _confirm(client, newest).get_json()["user"]["email"] == "newer@example.com"


def test_a_reset_link_mailed_to_the_old_address_dies_with_the_change(client, owner, mailbox):
    client.post(f"{AUTH}/forgot-password", json={"email": owner.email})
    reset_token = token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT))
    token = _token(client, owner.email)
    _ask_change(client, token)
    _confirm(client, token_in(mailbox.wait_for("new@example.com", CHANGE_SUBJECT)))

    reset = client.post(
        f"{AUTH}/reset-password", json={"token": reset_token, "password": "a brand new phrase 9"}
    )

    assert reset.status_code == 400


def test_of_two_accounts_confirming_one_address_at_once_exactly_one_gets_it(app, owner, mailbox):
    app.config["AUTH_MAIL_INTERVAL_SECONDS"] = 0
    second = make_user(email="second@example.com")
    tokens = []
    for user in (owner, second):
        client = app.test_client()
        _ask_change(client, _token(client, user.email), email="wanted@example.com")
        tokens.append(token_in(mailbox.wait_for("wanted@example.com", CHANGE_SUBJECT)))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda raw: _confirm(app.test_client(), raw).status_code, tokens))

    assert sorted(answers) == [200, 409]
    holders = db.session.scalar(select(func.count()).where(User.email == "wanted@example.com"))
    assert holders == 1


def test_the_new_address_is_stored_with_the_token_not_in_the_mail_alone(client, owner, mailbox):
    token = _token(client, owner.email)
    _ask_change(client, token)

    pending = db.session.scalars(
        select(AccountToken.email).where(AccountToken.purpose == "email_change")
    ).all()

    assert pending == ["new@example.com"]


# The account's data


def test_a_user_exports_their_data_without_a_secret_in_it(client, owner):
    token = _token(client, owner.email)
    secret = client.post(f"{AUTH}/mfa/totp", json={}, headers=_bearer(token)).get_json()["secret"]
    confirmed = client.post(
        f"{AUTH}/mfa/totp/confirm",
        json={"code": next(codes_in_order(secret))},
        headers=_bearer(token),
    ).get_json()
    refresh_cookie = client.get_cookie("refreshToken", path="/api/v1/auth").value

    response = client.get(f"{CURRENT}/export", headers=_bearer(token))

    body = response.get_json()
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body["user"] == blog_user("owner@example.com", "owner")
    assert body["exportedAt"] == TIMESTAMP
    assert [session["current"] for session in body["sessions"]] == [True]
    assert body["secondFactors"] == {
        "totp": True,
        "recoveryCodesLeft": len(confirmed["recoveryCodes"]),
        "passkeys": [],
    }
    assert body["identities"] == []
    assert {"login", "mfa_enabled"} <= {event["event"] for event in body["events"]}
    text = json.dumps(body)
    stored = db.session.get(User, owner.id)
    hidden = [stored.password_hash, secret, token, refresh_cookie, PASSWORD]
    for value in hidden + confirmed["recoveryCodes"]:
        assert value not in text


def test_an_export_needs_a_token(client):
    assert client.get(f"{CURRENT}/export").status_code == 401


# Deleting the account


def test_a_user_deletes_their_account_and_its_tokens_die_with_it(client, owner):
    token = _token(client, owner.email)

    response = client.delete(CURRENT, headers=_bearer(token))

    assert (response.status_code, response.get_json()) == (200, {"message": "Account deleted"})
    assert "refreshToken=;" in response.headers["Set-Cookie"]
    assert client.get(CURRENT, headers=_bearer(token)).status_code == 401
    assert client.post(f"{AUTH}/refresh-token").status_code in (400, 401)
    assert _login(client, "owner@example.com").status_code == 400
    assert db.session.scalar(select(func.count()).where(SignInSession.user_id == owner.id)) == 0


def test_deleting_an_account_on_a_stale_session_asks_for_a_fresh_proof(client, owner):
    token = _token(client, owner.email)
    age_proofs(STALE)

    refused = client.delete(CURRENT, headers=_bearer(token))
    wrong = client.delete(CURRENT, json={"password": "not it at all"}, headers=_bearer(token))
    deleted = client.delete(CURRENT, json={"password": PASSWORD}, headers=_bearer(token))

    assert refused.get_json()["error"] == "ReauthenticationRequiredError"
    assert wrong.status_code == 400
    assert deleted.status_code == 200


def test_the_last_active_admin_cannot_delete_their_account(client, app_context):
    admin = make_admin()
    token = _token(client, admin.email)

    response = client.delete(CURRENT, headers=_bearer(token))

    assert response.status_code == 403
    assert response.get_json() == blog_error(
        "AuthorizationError", "The service must keep at least one active admin."
    )
    assert db.session.get(User, admin.id, populate_existing=True) is not None


def test_an_admin_with_another_active_admin_may_delete_their_account(client, app_context):
    make_admin()
    admin = make_admin()
    token = _token(client, admin.email)

    response = client.delete(CURRENT, headers=_bearer(token))

    assert response.status_code == 200


def test_deleting_an_account_with_an_unknown_body_field_is_a_400(client, owner):
    token = _token(client, owner.email)

    response = client.delete(CURRENT, json={"confirm": True}, headers=_bearer(token))

    assert response.status_code == 400
    assert db.session.get(User, owner.id, populate_existing=True) is not None
