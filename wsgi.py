"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi``."""

import sys

from app import create_app
from app.startup import ConfigurationError

try:
    app = create_app()
except ConfigurationError as error:
    sys.exit(f"authsvc: refusing to start: {error}")
