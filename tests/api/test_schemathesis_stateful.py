"""schemathesis, stateful: sequences that follow the spec's links (obtain -> refresh /
verify / blacklist, and the links schemathesis infers) stay within their schemas, no 5xx.

Every example starts from the migration's rows and one known user, and rate limits are off,
so hypothesis replays an example against the same state it first met.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import reset_tables
from tests.factories import PASSWORD
from tests.factories import make_user

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
USERNAME = "stateful_user"


@pytest.fixture
def app_overrides():
    return {"RATELIMIT_ENABLED": False}


def test_linked_sequences_stay_within_their_schemas(app, seed_rows):
    """Across the whole spec: whatever links schemathesis follows, no 5xx, every answer in
    its schema."""
    _run_workflow(app, seed_rows, schemathesis.openapi.from_wsgi("/openapi.json", app))


def test_a_token_pairs_links_are_followed_successfully(app, seed_rows):
    """The token-pair face alone, so its links (obtain -> refresh / verify / blacklist) are
    walked whatever else the spec grows: a new operation elsewhere reshuffles which
    sequences a fixed seed picks from the whole spec."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app).include(tag="token-pair")

    answered = _run_workflow(app, seed_rows, schema)

    linked = {"/api/token/refresh/", "/api/token/verify/", "/api/token/blacklist/"}
    assert any(path in linked and status == 200 for _, path, status in answered), (
        "no link from a token pair was followed successfully"
    )


def _run_workflow(app, seed_rows, schema) -> list[tuple[str, str, int]]:
    base = schema.as_state_machine()
    answered: list[tuple[str, str, int]] = []

    class Workflow(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            with app.app_context():
                reset_tables(seed_rows)
                make_user(username=USERNAME, email="stateful@example.com", password=PASSWORD)

        def before_call(self, case):
            # Real credentials, so obtaining a pair succeeds and its links are followed.
            if case.method == "POST" and case.path == "/api/token/":
                case.body = {"username": USERNAME, "password": PASSWORD}

        def after_call(self, response, case):
            answered.append((case.method, case.path, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=40,
            stateful_step_count=6,
            deadline=None,
            database=None,
            # A fixed seed: the same sequences every run, so a run passes or fails for what
            # the service does, never for which of its operations chance picked.
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )

    return answered
