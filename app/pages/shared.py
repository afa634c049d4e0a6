"""What every page shares: the static files, the theme's stylesheet, and the headers every
page answers with."""

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import render_template

from app.pages.theme import Theme

bp = Blueprint(
    "pages",
    __name__,
    url_prefix="/pages",
    static_folder="static",
    template_folder="templates",
)


def theme() -> Theme:
    found: Theme = current_app.extensions["pages_theme"]
    return found


def page_headers(response: Response) -> Response:
    """A page runs only this origin's scripts and styles, is framed by no one, and sends no
    Referer (the account pages carry mailed tokens in their URLs)."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {theme().image_sources}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response


@bp.get("/theme.css")
def theme_stylesheet() -> Response:
    """The operator's colours as CSS variables."""
    css = render_template("pages/theme.css", theme=theme())
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = "no-cache"
    return page_headers(response)


@bp.app_context_processor
def _theme_context() -> dict[str, Theme]:
    return {"theme": theme()}


bp.after_request(page_headers)
