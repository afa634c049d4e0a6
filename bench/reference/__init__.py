"""The peers the service is measured against in `make bench`, served by the same gunicorn."""
