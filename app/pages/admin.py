"""The admins' console at /admin/: sign-in, the dashboard, users and a user's page, roles,
API clients, the admin whitelist, webhooks and the audit log. Each route serves a page; the page's
script does the work through the blog API (app/pages/__init__.py)."""

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from werkzeug.wrappers import Response

from app.core.audit.audit import EVENTS
from app.core.audit.audit import OUTCOMES
from app.core.hooks.events import EVENT_TYPES
from app.pages.shared import page_headers

bp = Blueprint("admin_console", __name__, url_prefix="/admin", template_folder="templates")
bp.after_request(page_headers)


@bp.get("/")
def home() -> Response:
    return redirect(url_for("admin_console.dashboard"))


@bp.get("/dashboard")
def dashboard() -> str:
    return render_template("pages/admin/dashboard.html")


@bp.get("/sign-in")
def sign_in() -> str:
    return render_template("pages/admin/sign_in.html")


@bp.get("/users")
def users() -> str:
    return render_template("pages/admin/users.html")


@bp.get("/users/<int:user_id>")
def user(user_id: int) -> str:
    return render_template("pages/admin/user.html", user_id=user_id)


@bp.get("/roles")
def roles() -> str:
    return render_template("pages/admin/roles.html")


@bp.get("/clients")
def clients() -> str:
    return render_template("pages/admin/clients.html")


@bp.get("/audit")
def audit() -> str:
    return render_template("pages/admin/audit.html", events=sorted(EVENTS), outcomes=OUTCOMES)


@bp.get("/whitelist")
def whitelist() -> str:
    return render_template("pages/admin/whitelist.html")


@bp.get("/webhooks")
def webhooks() -> str:
    return render_template("pages/admin/webhooks.html", event_types=EVENT_TYPES)
