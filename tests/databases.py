"""Throwaway databases for the tests: an SQLite file, or a PostgreSQL schema of its own."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "TEST_DATABASE_URL"
POSTGRES_SKIP_REASON = (
    "PostgreSQL run skipped: TEST_DATABASE_URL is not set "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def new_database(kind: str, directory: Path) -> Iterator[str]:
    """Yield the URL of an empty database of ``kind`` ('sqlite' or 'postgresql')."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
        return
    base = postgres_base_url()
    assert base, POSTGRES_SKIP_REASON
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
