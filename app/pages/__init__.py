"""The consoles: pages for people, served beside the JSON API.

``/admin/`` is the admins' console, ``/account/`` the users' own pages.
Each page is a Jinja template with a little JavaScript of the package's own that calls the
blog API, as any browser client would: the access token stays in memory and the refresh
token is the blog's HttpOnly cookie, so every rule of the API (roles, the step-up, the
budgets, AUTH_ADMIN_REQUIRES_MFA) holds on the pages because the pages have no other way
in. The pages call no service of the core; they read only a few of its constants (the
audit log's event names) to fill their forms.

Every page answers with a strict Content-Security-Policy (only this origin's scripts and
styles, no inline script, no framing) and without a Referer to other sites. An operator
themes them through configuration (product name, logo, colours) and may override any
template from AUTH_PAGES_TEMPLATES_DIR.
"""

from flask import Flask
from jinja2 import ChoiceLoader
from jinja2 import FileSystemLoader

from app.pages import account
from app.pages import admin
from app.pages import shared
from app.pages.theme import Theme


def register_pages(app: Flask) -> None:
    """Mount the consoles when the blog API they call is mounted and AUTH_PAGES_ENABLED."""
    dialects = app.config["AUTH_DIALECTS"]
    if not app.config["AUTH_PAGES_ENABLED"] or (dialects and "blog" not in dialects):
        return
    app.extensions["pages_theme"] = Theme.from_config(app.config)
    overrides = app.config["AUTH_PAGES_TEMPLATES_DIR"]
    if overrides and app.jinja_loader is not None:
        # The operator's templates win, file by file; the shipped ones fill in the rest.
        app.jinja_loader = ChoiceLoader([FileSystemLoader(overrides), app.jinja_loader])
    for blueprint in (shared.bp, admin.bp, account.bp):
        app.register_blueprint(blueprint)
