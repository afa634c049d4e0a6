"""/healthz and /readyz for load balancers and orchestrators."""

from app.core.health import _head_revision
from app.database import MIGRATIONS
from app.database import db


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_database_and_migrations(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }


def test_readyz_is_503_when_migrations_are_not_at_head(app, client):
    with app.app_context():
        head = db.session.execute(db.text("SELECT version_num FROM alembic_version")).scalar()
        db.session.execute(db.text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    try:
        response = client.get("/readyz")
    finally:
        with app.app_context():
            db.session.execute(
                db.text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
            db.session.commit()

    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "not at head"},
    }


def test_readyz_checks_redis_when_it_stores_the_rate_limits(database_url, seed_rows, redis_url):
    from tests.conftest import make_app

    app = make_app(database_url, RATELIMIT_STORAGE_URI=redis_url)
    try:
        response = app.test_client().get("/readyz")
    finally:
        with app.app_context():
            db.engine.dispose()

    assert response.get_json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}


def test_readyz_stays_ready_and_says_degraded_while_redis_does_not_answer(database_url, seed_rows):
    """Redis holds budgets every host shares: its outage must not drain every host at once."""
    from tests.conftest import make_app

    app = make_app(database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    try:
        response = app.test_client().get("/readyz")
    finally:
        with app.app_context():
            db.engine.dispose()

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "degraded"},
    }


def test_health_endpoints_are_not_rate_limited(app, client):
    app.config["AUTH_RATELIMIT_CREDENTIALS_PER_IP"] = "1 per minute"

    statuses = {client.get("/healthz").status_code for _ in range(5)}

    assert statuses == {200}


def test_readyz_finds_the_head_alembic_finds(app):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    assert _head_revision(str(MIGRATIONS)) == ScriptDirectory.from_config(config).get_current_head()


def test_migrations_that_do_not_form_one_line_have_no_head(tmp_path):
    (tmp_path / "versions").mkdir()
    for name, down in (("a", None), ("b", "a"), ("c", "a")):
        script = f'revision = "{name}"\ndown_revision: str | None = {down!r}\n'
        (tmp_path / "versions" / f"{name}.py").write_text(script)

    assert _head_revision(str(tmp_path)) is None


def test_a_migration_that_names_no_revision_leaves_no_head(tmp_path):
    (tmp_path / "versions").mkdir()
    (tmp_path / "versions" / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "versions" / "b.py").write_text('down_revision = "a"\n')

    assert _head_revision(str(tmp_path)) is None


def test_readyz_is_503_on_a_database_never_migrated(tmp_path):
    from tests.conftest import dispose_engines
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        response = app.test_client().get("/readyz")
    finally:
        with app.app_context():
            dispose_engines()

    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "not at head"}
