"""wsgi.py: what a process that only serves loads, and what the flask command keeps."""

import json
import subprocess
import sys

import pytest

from tests.processes import ROOT
from tests.signing import signing_settings

# The app as gunicorn loads it (its import_app), in a process whose program is the one named.
LOAD = """
import json, sys
sys.argv[0] = sys.argv[1]
from gunicorn.util import import_app
app = import_app("wsgi:app")
print(json.dumps({"alembic": "alembic" in sys.modules, "db": "db" in app.cli.commands}))
"""


@pytest.mark.parametrize(
    ("program", "loaded"),
    [
        ("/srv/authsvc/.venv/bin/gunicorn", {"alembic": False, "db": False}),
        ("/usr/lib/python3/site-packages/gunicorn/__main__.py", {"alembic": False, "db": False}),
        ("/srv/authsvc/.venv/bin/flask", {"alembic": True, "db": True}),
        ("/usr/lib/python3/site-packages/flask/__main__.py", {"alembic": True, "db": True}),
    ],
)
def test_gunicorn_serves_without_alembic_and_the_flask_command_keeps_flask_db(
    program, loaded, tmp_path
):
    env = {"APP_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    env |= signing_settings() | {"PATH": "/usr/bin:/bin"}

    done = subprocess.run(
        [sys.executable, "-c", LOAD, program], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == loaded
