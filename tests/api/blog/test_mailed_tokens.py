"""Password reset and email verification in the blog API, with the mail going through a real
SMTP server on loopback and the token read out of the received message."""

import hashlib

import pytest
from sqlalchemy import func
from sqlalchemy import select

from app.core.models import AccountToken
from app.core.models import User
from app.database import db
from tests.conftest import AuthActions
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.mailbox import text_of
from tests.mailbox import token_in
from tests.matchers import blog_error
from tests.matchers import blog_user

AUTH = "/api/v1/auth"
NEW_PASSWORD = "a fresh passphrase 77"
RESET_SUBJECT = "Reset your password"
VERIFY_SUBJECT = "Verify your email address"
RESET_MAILED = {
    "message": "If an account exists for this email, a password reset link has been sent."
}
BAD_RESET = blog_error(
    "ValidationError",
    "Invalid or expired reset token.",
    {"token": ["Invalid, expired or already used."]},
)


@pytest.fixture
def owner(app_context):
    return make_user(email="owner@example.com")


def _forgot(client, email: str = "owner@example.com"):
    return client.post(f"{AUTH}/forgot-password", json={"email": email})


def _reset(client, token: str, password: str = NEW_PASSWORD):
    return client.post(f"{AUTH}/reset-password", json={"token": token, "password": password})


def _login(client, email: str = "owner@example.com", password: str = PASSWORD):
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def test_forgot_reset_ends_every_old_session_and_sets_the_password(app, client, owner, mailbox):
    old = app.test_client()
    old_token = _login(old).get_json()["accessToken"]

    response = _forgot(client)
    mail = mailbox.wait_for("owner@example.com", RESET_SUBJECT)
    reset = _reset(client, token_in(mail))

    assert (response.status_code, response.get_json()) == (202, RESET_MAILED)
    assert "http://localhost:5000/reset-password?token=" in text_of(mail)
    assert reset.status_code == 200
    assert (
        old.get("/api/v1/users/current", headers=AuthActions.headers(old_token)).status_code == 401
    )
    assert old.post(f"{AUTH}/refresh-token").status_code == 401
    assert _login(client).status_code == 400
    assert _login(client, password=NEW_PASSWORD).status_code == 200


def test_a_reset_token_works_once(client, owner, mailbox):
    _forgot(client)
    token = token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT))
    assert _reset(client, token).status_code == 200

    again = _reset(client, token, "yet another passphrase 5")

    assert (again.status_code, again.get_json()) == (400, BAD_RESET)


def test_forgot_answers_the_same_for_an_unknown_email_and_mails_nothing(client, owner, mailbox):
    known = _forgot(client)
    unknown = _forgot(client, "nobody@example.com")

    assert (unknown.status_code, unknown.get_json()) == (known.status_code, known.get_json())
    assert mailbox.to("nobody@example.com") == []
    assert len(mailbox.to("owner@example.com")) == 1


def test_the_reset_token_is_long_random_and_stored_only_as_a_hash(client, owner, mailbox):
    _forgot(client)
    token = token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT))

    stored = db.session.scalars(select(AccountToken.token_hash)).one()
    assert len(token) >= 43  # 32 random bytes, base64url
    assert token not in stored
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_a_reset_token_expires_after_thirty_minutes(client, owner, mailbox, frozen_clock):
    _forgot(client)
    token = token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT))

    frozen_clock.advance(30 * 60 + 1)

    assert _reset(client, token).get_json() == BAD_RESET


@pytest.mark.parametrize("token", ["not-a-token", "x" * 129, "é" * 10])
def test_an_unknown_or_malformed_reset_token_is_400(client, owner, token):
    response = _reset(client, token)

    assert (response.status_code, response.get_json()) == (400, BAD_RESET)


def test_a_refused_new_password_leaves_the_token_usable(client, owner, mailbox):
    _forgot(client)
    token = token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT))

    weak = _reset(client, token, "password")

    assert weak.status_code == 400
    assert weak.get_json()["details"] == {"password": ["This password is too common."]}
    assert _reset(client, token).status_code == 200


def test_only_the_newest_reset_mail_works_and_one_is_sent_per_interval(
    app, client, owner, mailbox, frozen_clock
):
    _forgot(client)
    first = token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT))
    _forgot(client)
    assert len(mailbox.to("owner@example.com")) == 1

    frozen_clock.advance(app.config["AUTH_MAIL_INTERVAL_SECONDS"] + 1)
    _forgot(client)
    second = token_in(mailbox.to("owner@example.com")[-1])

    assert first != second
    assert _reset(client, first).get_json() == BAD_RESET
    assert _reset(client, second).status_code == 200


def test_a_mail_server_that_is_down_still_gets_the_same_answer(app, client, owner):
    app.config["MAIL_URL"] = "smtp://127.0.0.1:1"
    from app.core.mail.mail import install_mailer

    install_mailer(app)

    response = _forgot(client)

    assert (response.status_code, response.get_json()) == (202, RESET_MAILED)


def test_register_mails_a_verification_token_that_verifies_the_email(auth, client, mailbox):
    registered = auth.register("new.reader@example.com").get_json()
    assert registered["user"]["emailVerified"] is False
    mail = mailbox.wait_for("new.reader@example.com", VERIFY_SUBJECT)
    session = AuthActions.headers(registered["accessToken"])

    response = client.post(f"{AUTH}/verify-email", json={"token": token_in(mail)}, headers=session)

    assert "http://localhost:5000/verify-email?token=" in text_of(mail)
    assert response.status_code == 200
    assert response.get_json() == {
        "message": "Email verified",
        "user": blog_user("new.reader@example.com", "new.reader", emailVerified=True),
    }
    me = client.get("/api/v1/users/current", headers=AuthActions.headers(registered["accessToken"]))
    assert me.get_json()["emailVerified"] is True
    again = client.post(f"{AUTH}/verify-email", json={"token": token_in(mail)})
    assert again.status_code == 400


def test_a_new_account_gets_its_mails_in_the_language_its_client_asked_for(
    app, client, mailbox, tmp_path
):
    (tmp_path / "pt").mkdir()
    for part, words in {"subject": "Confirme o seu email", "txt": "Código: {{ token }}",
                        "html": "<p>Código: {{ token }}</p>"}.items():  # fmt: skip
        (tmp_path / "pt" / f"email_verification.{part}").write_text(words)
    app.config["MAIL_TEMPLATES_DIR"] = str(tmp_path)
    from app.core.mail.mail import install_mailer

    install_mailer(app)

    client.post(
        f"{AUTH}/register",
        json={"email": "leitora@example.com", "password": PASSWORD},
        headers={"Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"},
    )
    english = client.post(
        f"{AUTH}/register", json={"email": "reader@example.com", "password": PASSWORD}
    )

    mail = mailbox.wait_for("leitora@example.com", "Confirme o seu email")
    assert text_of(mail).startswith("Código: ")
    assert english.status_code == 201
    mailbox.wait_for("reader@example.com", VERIFY_SUBJECT)
    with app.app_context():
        locales = {
            row.email: row.locale for row in db.session.execute(select(User.email, User.locale))
        }
    assert locales == {"leitora@example.com": "pt-BR", "reader@example.com": None}


def test_resend_verification_mails_only_an_unverified_account(app, client, mailbox, owner):
    verified = make_user(email="verified@example.com")
    verified.email_verified_at = verified.created_at
    db.session.commit()

    answers = [
        client.post(f"{AUTH}/resend-verification", json={"email": email})
        for email in ("owner@example.com", "verified@example.com", "nobody@example.com")
    ]

    assert {(r.status_code, r.get_data()) for r in answers} == {(202, answers[0].get_data())}
    assert len(mailbox.to("owner@example.com")) == 1
    assert mailbox.to("verified@example.com") == mailbox.to("nobody@example.com") == []


@pytest.mark.parametrize("app_overrides", [{"AUTH_REQUIRE_VERIFIED_EMAIL": True}])
def test_with_verified_email_required_login_waits_for_the_mail(
    app_overrides, auth, client, mailbox
):
    registered = auth.register("careful@example.com")
    refused = _login(client, "careful@example.com")
    pair = client.post("/api/token/", json={"username": "careful", "password": PASSWORD})
    wrong_password = _login(client, "careful@example.com", "not the password")

    assert registered.status_code == 201
    assert registered.get_json() == {
        "message": "Check your email to verify your address, then log in.",
        "user": blog_user("careful@example.com", "careful"),
    }
    assert auth.refresh_cookie() is None
    assert refused.status_code == 403
    assert refused.get_json() == blog_error(
        "AuthorizationError", "Verify your email address before logging in."
    )
    assert pair.status_code == 403
    assert wrong_password.status_code == 400
    token = token_in(mailbox.wait_for("careful@example.com", VERIFY_SUBJECT))
    client.post(f"{AUTH}/verify-email", json={"token": token, "password": PASSWORD})
    assert _login(client, "careful@example.com").status_code == 200


@pytest.mark.parametrize("app_overrides", [{"AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL": True}])
def test_a_whitelisted_admin_registration_waits_for_its_email_to_be_verified(
    app, app_overrides, auth, client, mailbox
):
    app.config["ADMIN_EMAIL_WHITELIST"] = ["boss@example.com"]

    registered = auth.register("boss@example.com", role="admin").get_json()
    token = token_in(mailbox.wait_for("boss@example.com", VERIFY_SUBJECT))
    session = AuthActions.headers(registered["accessToken"])
    verified = client.post(
        f"{AUTH}/verify-email", json={"token": token}, headers=session
    ).get_json()

    assert registered["user"]["role"] == "user"
    assert verified["user"]["role"] == "admin"
    assert client.get("/api/v1/users", headers=session).status_code == 200


def test_purge_removes_spent_and_expired_mailed_tokens(client, owner, mailbox, runner):
    _forgot(client)
    _reset(client, token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT)))
    make_user(email="pending@example.com")
    client.post(f"{AUTH}/resend-verification", json={"email": "pending@example.com"})

    result = runner.invoke(args=["tokens", "purge"])

    assert "1 reset and verification tokens" in result.output
    remaining = db.session.scalar(select(func.count()).select_from(AccountToken))
    assert remaining == 1


def test_reset_also_verifies_the_email(client, owner, mailbox):
    _forgot(client)
    _reset(client, token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT)))

    db.session.expire_all()
    assert db.session.get(User, owner.id).email_verified_at is not None


PASSWORD_CHANGED_SUBJECT = "The password of your account was changed"


def test_the_owner_is_told_when_the_password_is_reset(client, owner, mailbox):
    _forgot(client)
    _reset(client, token_in(mailbox.wait_for("owner@example.com", RESET_SUBJECT)))

    notice = mailbox.wait_for("owner@example.com", PASSWORD_CHANGED_SUBJECT)
    assert "If this was not you" in text_of(notice)
    assert NEW_PASSWORD not in text_of(notice)


def test_the_owner_is_told_when_the_password_is_changed(client, owner, mailbox):
    token = _login(client).get_json()["accessToken"]

    changed = client.post(
        f"{AUTH}/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=AuthActions.headers(token),
    )

    assert changed.status_code == 200
    notice = mailbox.wait_for("owner@example.com", PASSWORD_CHANGED_SUBJECT)
    assert NEW_PASSWORD not in text_of(notice)


def test_a_refused_change_tells_nobody(client, owner, mailbox):
    token = _login(client).get_json()["accessToken"]

    refused = client.post(
        f"{AUTH}/change-password",
        json={"currentPassword": "not the password", "newPassword": NEW_PASSWORD},
        headers=AuthActions.headers(token),
    )

    assert refused.status_code == 400
    assert not [m for m in mailbox.to("owner@example.com")
                if m["Subject"] == PASSWORD_CHANGED_SUBJECT]  # fmt: skip
