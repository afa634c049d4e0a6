"""The migrations build every table on an empty database, match the models, and undo cleanly."""

import os
import subprocess

import pytest
from sqlalchemy import create_engine
from sqlalchemy import inspect

from tests.databases import new_database
from tests.processes import run_flask


def _flask(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_flask(os.environ | {"APP_ENV": "testing", "DATABASE_URL": database_url}, *args)


@pytest.fixture
def empty_database(database_kind, tmp_path):
    with new_database(database_kind, tmp_path) as url:
        yield url


def test_upgrade_on_an_empty_database_matches_the_models_and_seeds_roles(empty_database):
    upgraded = _flask(empty_database, "db", "upgrade")
    checked = _flask(empty_database, "db", "check")

    assert upgraded.returncode == 0, upgraded.stderr
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    engine = create_engine(empty_database)
    with engine.connect() as connection:
        names = [row[0] for row in connection.exec_driver_sql("SELECT name FROM roles ORDER BY id")]
    engine.dispose()
    assert names == ["user", "admin"]


def test_downgrade_to_base_removes_every_table(empty_database):
    _flask(empty_database, "db", "upgrade")

    downgraded = _flask(empty_database, "db", "downgrade", "base")

    assert downgraded.returncode == 0, downgraded.stderr
    engine = create_engine(empty_database)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
