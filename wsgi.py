"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

import sys

from flask import Flask

from app import create_app
from app.startup import ConfigurationError


def _running(name: str) -> bool:
    """Whether this process is the program ``name`` (``name`` or ``python -m name``)."""
    program = sys.argv[0].replace("\\", "/")
    return program == name or program.endswith((f"/{name}", f"/{name}/__main__.py"))


def _asks_for_help() -> bool:
    """``flask [GROUP] --help``: a list of commands and options, which needs no secrets."""
    return _running("flask") and "--help" in sys.argv[1:]


def _app() -> Flask:
    try:
        # gunicorn only serves: its workers need no ``flask db`` commands, nor Alembic.
        return create_app(migrations=not _running("gunicorn"))
    except ConfigurationError as error:
        refusal = f"authsvc: refusing to start: {error}"
        if not _asks_for_help():
            sys.exit(refusal)
    try:
        # Only to list the commands: the testing configuration needs no secrets, and this app
        # never serves (flask prints the help and exits).
        return create_app("testing")
    except ConfigurationError:
        sys.exit(refusal)


app = _app()
