"""The users' own pages at /account/: sign in, register, the targets of the mailed links
(verify the address, reset the password, confirm a new address) and the account itself.
With AUTH_FRONTEND_URL set to this service's /account, the mails and the OpenID sign-ins
lead here. Each route serves a page; its script calls the blog API (app/pages/__init__.py)."""

from collections.abc import Callable

from flask import Blueprint
from flask import render_template

from app.pages.shared import page_headers

bp = Blueprint("account_console", __name__, url_prefix="/account")
bp.after_request(page_headers)

PAGES = {
    "login": "Sign in",
    "register": "Create an account",
    "forgot-password": "Forgot your password",
    "reset-password": "Choose a new password",
    "verify-email": "Verify your email address",
    "confirm-email-change": "Confirm your new address",
}


@bp.get("/")
def home() -> str:
    return render_template("pages/account/home.html")


def _page(name: str) -> Callable[[], str]:
    def render() -> str:
        template = name.replace("-", "_")
        return render_template(f"pages/account/{template}.html", title=PAGES[name])

    return render


for _name in PAGES:
    bp.add_url_rule(f"/{_name}", _name.replace("-", "_"), _page(_name), methods=["GET"])
