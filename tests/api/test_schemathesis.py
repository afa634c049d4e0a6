"""schemathesis over the live app: for every operation, generated valid and invalid
requests never get a 5xx, and every answer matches the schema /openapi.json gives for it.

(Driven by plain hypothesis: schemathesis' pytest plugin does not run under pytest 9.)
"""

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.core.models import User
from app.core.sessions import sessions
from app.core.tokens.tokens import policy_for
from app.database import db
from tests.factories import make_admin

SPEC = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
OPERATIONS = sorted(
    (method.upper(), path) for path, methods in SPEC["paths"].items() for method in methods
)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _admin_bearer(app, admin_id: int) -> dict[str, str]:
    """A fresh admin session per case, so a generated logout cannot spoil the next case."""
    with app.app_context():
        admin = db.session.get(User, admin_id)
        tokens = sessions.open_session(user=admin, dialect="blog", policy=policy_for("BLOG"))
    return {"Authorization": f"Bearer {tokens.access_token}"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_answers_within_its_schema(app, method, path):
    with app.app_context():
        admin_id = make_admin().id
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app).find_operation_by_path(
        method, path
    )
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(max_examples=20, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=cases, authenticated=st.booleans())
    def answers_within_schema(case, authenticated):
        headers = _admin_bearer(app, admin_id) if authenticated else None
        case.validate_response(case.call(headers=headers), checks=CHECKS)

    answers_within_schema()
