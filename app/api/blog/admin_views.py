"""The blog API's administration endpoints: users, their sessions, and API clients (admins
only; every change after a step-up)."""

from flask import Response
from flask import jsonify

from app.api.auth import admin_endpoint
from app.api.auth import current_caller
from app.api.blog import bp
from app.api.blog.admin_schemas import AdminUserPageSchema
from app.api.blog.admin_schemas import AuditFilterSchema
from app.api.blog.admin_schemas import AuditQuerySchema
from app.api.blog.admin_schemas import ClientCreateSchema
from app.api.blog.admin_schemas import ClientCredentialsSchema
from app.api.blog.admin_schemas import ClientListSchema
from app.api.blog.admin_schemas import DashboardSchema
from app.api.blog.admin_schemas import RoleCreateSchema
from app.api.blog.admin_schemas import RoleListSchema
from app.api.blog.admin_schemas import RoleSchema
from app.api.blog.admin_schemas import RoleUpdateSchema
from app.api.blog.admin_schemas import SessionsEndedSchema
from app.api.blog.admin_schemas import UserDetailSchema
from app.api.blog.admin_schemas import UserMailSchema
from app.api.blog.admin_schemas import UserQuerySchema
from app.api.blog.admin_schemas import UserRowSchema
from app.api.blog.admin_schemas import UserSessionListSchema
from app.api.blog.admin_schemas import UserUpdateSchema
from app.api.blog.admin_schemas import WhitelistAddSchema
from app.api.blog.admin_schemas import WhitelistSchema
from app.api.blog.schemas import AuditEventSchema
from app.api.blog.schemas import AuditPageSchema
from app.api.csv_export import csv_download
from app.api.requests import load_body
from app.api.requests import load_query
from app.core import roles
from app.core.accounts import administration
from app.core.accounts import clients
from app.core.accounts import dashboard
from app.core.accounts import role_administration
from app.core.accounts import whitelist
from app.core.audit import audit
from app.core.mailbox import admin_mail

AUDIT_FILTER_SCHEMA = AuditFilterSchema()
AUDIT_PAGE_SCHEMA = AuditPageSchema()
AUDIT_EVENT_SCHEMA = AuditEventSchema()
AUDIT_COLUMNS = tuple(field.data_key or name for name, field in AUDIT_EVENT_SCHEMA.fields.items())
AUDIT_QUERY_SCHEMA = AuditQuerySchema()
CLIENT_CREATE_SCHEMA = ClientCreateSchema()
CLIENT_CREDENTIALS_SCHEMA = ClientCredentialsSchema()
CLIENT_LIST_SCHEMA = ClientListSchema()
DASHBOARD_SCHEMA = DashboardSchema()
ROLE_CREATE_SCHEMA = RoleCreateSchema()
ROLE_LIST_SCHEMA = RoleListSchema()
ROLE_SCHEMA = RoleSchema()
ROLE_UPDATE_SCHEMA = RoleUpdateSchema()
SESSIONS_ENDED_SCHEMA = SessionsEndedSchema()
USER_DETAIL_SCHEMA = UserDetailSchema()
USER_MAIL_SCHEMA = UserMailSchema()
USER_PAGE_SCHEMA = AdminUserPageSchema()
USER_QUERY_SCHEMA = UserQuerySchema()
USER_ROW_SCHEMA = UserRowSchema()
USER_SESSION_LIST_SCHEMA = UserSessionListSchema()
USER_UPDATE_SCHEMA = UserUpdateSchema()
WHITELIST_ADD_SCHEMA = WhitelistAddSchema()
WHITELIST_SCHEMA = WhitelistSchema()


@bp.get("/users")
@admin_endpoint
def list_users() -> Response:
    """Admin only: one page of users (``page``, ``limit``), found by ``q``, ``role``, ``status``."""
    page = administration.list_users(actor=current_caller.user, **load_query(USER_QUERY_SCHEMA))
    return jsonify(USER_PAGE_SCHEMA.dump(page))


@bp.get("/users/<int:user_id>")
@admin_endpoint
def get_user(user_id: int) -> Response:
    """Admin only: one user with their second factors, linked identities and live sessions."""
    detail = administration.describe_user(actor=current_caller.user, user_id=user_id)
    return jsonify(USER_DETAIL_SCHEMA.dump(detail))


@bp.patch("/users/<int:user_id>")
@admin_endpoint
def update_user(user_id: int) -> Response:
    """Admin only: change a user's roles or active flag, or remove their second factors."""
    changes = load_body(USER_UPDATE_SCHEMA)
    user = administration.update_user(caller=current_caller, user_id=user_id, **changes)
    return jsonify(USER_ROW_SCHEMA.dump(user))


@bp.delete("/users/<int:user_id>")
@admin_endpoint
def delete_user(user_id: int) -> Response:
    """Admin only: delete a user; their tokens fail on the next request."""
    administration.delete_user(caller=current_caller, user_id=user_id)
    return jsonify({"message": "User deleted successfully"})


@bp.post("/users/<int:user_id>/unlock")
@admin_endpoint
def unlock_user(user_id: int) -> Response:
    """Admin only: clear the user's failure budgets and the lock on their second step."""
    administration.unlock_user(caller=current_caller, user_id=user_id)
    return jsonify({"message": "User unlocked"})


@bp.post("/users/<int:user_id>/mail")
@admin_endpoint
def mail_user(user_id: int) -> tuple[Response, int]:
    """Admin only: send the user a new verification link or a password reset link."""
    admin_mail.send_user_mail(caller=current_caller, user_id=user_id, **load_body(USER_MAIL_SCHEMA))
    return jsonify({"message": "Mail queued"}), 202


@bp.get("/users/<int:user_id>/sessions")
@admin_endpoint
def list_user_sessions(user_id: int) -> Response:
    """Admin only: the user's live sessions, most recently used first."""
    found = administration.list_user_sessions(actor=current_caller.user, user_id=user_id)
    return jsonify(USER_SESSION_LIST_SCHEMA.dump({"sessions": found}))


@bp.delete("/users/<int:user_id>/sessions")
@admin_endpoint
def end_user_sessions(user_id: int) -> Response:
    """Admin only: end every session of the user."""
    ended = administration.end_user_sessions(caller=current_caller, user_id=user_id)
    return jsonify(SESSIONS_ENDED_SCHEMA.dump({"ended": ended}))


@bp.delete("/users/<int:user_id>/sessions/<session_id>")
@admin_endpoint
def end_user_session(user_id: int, session_id: str) -> Response:
    """Admin only: end one live session of the user."""
    ended = administration.end_user_sessions(
        caller=current_caller, user_id=user_id, session_id=session_id[:36]
    )
    return jsonify(SESSIONS_ENDED_SCHEMA.dump({"ended": ended}))


@bp.get("/clients")
@admin_endpoint
def list_clients() -> Response:
    """Admin only: every API client, newest first (never a key)."""
    found = clients.list_clients(actor=current_caller.user)
    return jsonify(CLIENT_LIST_SCHEMA.dump({"clients": found}))


@bp.post("/clients")
@admin_endpoint
def create_client() -> tuple[Response, int]:
    """Admin only: a new API client; its key is shown this once."""
    created = clients.create_client(caller=current_caller, **load_body(CLIENT_CREATE_SCHEMA))
    return jsonify(CLIENT_CREDENTIALS_SCHEMA.dump(created)), 201


@bp.post("/clients/<client_id>/rotate")
@admin_endpoint
def rotate_client_key(client_id: str) -> Response:
    """Admin only: a new key, shown this once; the old key and its tokens stop working."""
    rotated = clients.rotate_client_key(caller=current_caller, client_id=client_id)
    return jsonify(CLIENT_CREDENTIALS_SCHEMA.dump(rotated))


@bp.delete("/clients/<client_id>")
@admin_endpoint
def revoke_client(client_id: str) -> Response:
    """Admin only: revoke a client; its key and tokens stop working at once."""
    clients.revoke_client(caller=current_caller, client_id=client_id)
    return jsonify({"message": "Client revoked"})


@bp.get("/roles")
@admin_endpoint
def list_roles() -> Response:
    """Admin only: every role with its permissions."""
    found = roles.list_roles(actor=current_caller.user)
    return jsonify(ROLE_LIST_SCHEMA.dump({"roles": found}))


@bp.post("/roles")
@admin_endpoint
def create_role() -> tuple[Response, int]:
    """Admin only: a new role with its permissions (granted to ``admin`` too)."""
    role = role_administration.create_role(caller=current_caller, **load_body(ROLE_CREATE_SCHEMA))
    return jsonify(ROLE_SCHEMA.dump(role)), 201


@bp.patch("/roles/<name>")
@admin_endpoint
def update_role(name: str) -> Response:
    """Admin only: exactly these permissions for the role; its holders have them at once."""
    changes = load_body(ROLE_UPDATE_SCHEMA)
    role = role_administration.update_role(caller=current_caller, name=name[:50], **changes)
    return jsonify(ROLE_SCHEMA.dump(role))


@bp.delete("/roles/<name>")
@admin_endpoint
def delete_role(name: str) -> Response:
    """Admin only: delete a role of the team's own; its holders lose it at once."""
    role_administration.delete_role(caller=current_caller, name=name[:50])
    return jsonify({"message": "Role deleted"})


@bp.get("/audit-events")
@admin_endpoint
def list_audit_events() -> Response:
    """Admin only: auth events, newest first, filtered by user, event, outcome and time."""
    page = audit.list_events(actor=current_caller.user, **load_query(AUDIT_QUERY_SCHEMA))
    return jsonify(AUDIT_PAGE_SCHEMA.dump(page))


@bp.get("/audit-events/export")
@admin_endpoint
def export_audit_events() -> Response:
    """Admin only: the matching events as CSV, newest first (at most 100,000)."""
    events = audit.export_events(actor=current_caller.user, **load_query(AUDIT_FILTER_SCHEMA))
    return csv_download(
        "audit-events.csv", AUDIT_COLUMNS, (AUDIT_EVENT_SCHEMA.dump(event) for event in events)
    )


@bp.get("/admin-whitelist")
@admin_endpoint
def list_whitelist() -> Response:
    """Admin only: the addresses that may register as admin, and where each comes from."""
    found = whitelist.list_entries(actor=current_caller.user)
    entries = [{"email": email, "source": source} for email, source in found]
    return jsonify(WHITELIST_SCHEMA.dump({"entries": entries}))


@bp.post("/admin-whitelist")
@admin_endpoint
def add_to_whitelist() -> tuple[Response, int]:
    """Admin only: allow an address to register as admin."""
    entry = whitelist.add_email(caller=current_caller, **load_body(WHITELIST_ADD_SCHEMA))
    return jsonify({"email": entry.email, "source": "table"}), 201


@bp.delete("/admin-whitelist/<path:email>")
@admin_endpoint
def remove_from_whitelist(email: str) -> Response:
    """Admin only: take an address off the whitelist table (admins keep their role)."""
    whitelist.remove_email(caller=current_caller, email=email[:254])
    return jsonify({"message": "Removed from the admin whitelist"})


@bp.get("/dashboard")
@admin_endpoint
def get_dashboard() -> Response:
    """Admin only: sign-ins, failures, refusals and new users per hour and per day, and how
    many accounts have a second factor."""
    return jsonify(DASHBOARD_SCHEMA.dump(dashboard.dashboard(actor=current_caller.user)))
