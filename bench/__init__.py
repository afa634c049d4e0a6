"""`make bench`: the service under gunicorn, driven by wrk on loopback."""
