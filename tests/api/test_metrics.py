"""What the metrics count, read from this process's registry: each test compares the
samples before and after its own requests."""

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_user


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _login_events(outcome: str) -> float:
    return _sample("authsvc_auth_events_total", event="login", outcome=outcome)


def _timed(method: str, route: str, status_class: str) -> float:
    return _sample(
        "authsvc_http_request_duration_seconds_count",
        method=method, route=route, status_class=status_class,
    )  # fmt: skip


def test_auth_events_are_counted_by_event_and_outcome(app_context, auth):
    user = make_user()
    successes, failures = _login_events("success"), _login_events("failure")

    auth.login(user.email)
    auth.login(user.email, "not the password")
    auth.login(user.email, "not the password either")

    assert _login_events("success") - successes == 1
    assert _login_events("failure") - failures == 2


def test_requests_are_timed_by_route_template_never_by_raw_path(app_context, client, auth):
    user = make_user()
    token = auth.login(user.email).get_json()["accessToken"]
    before = _timed("DELETE", "/api/v1/users/<int:user_id>", "4xx")
    unmatched = _timed("GET", "unmatched", "4xx")
    odd_method = _timed("OTHER", "unmatched", "4xx")

    client.delete("/api/v1/users/987654", headers=auth.headers(token))
    client.get("/api/v1/no-such-route/bob@example.com")
    client.open("/healthz", method="BREW")

    assert _timed("DELETE", "/api/v1/users/<int:user_id>", "4xx") - before == 1
    assert _timed("GET", "unmatched", "4xx") - unmatched == 1
    assert _timed("OTHER", "unmatched", "4xx") - odd_method == 1


def test_a_spent_budget_is_counted_by_its_name(app, app_context, auth):
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "2/minute"
    user = make_user()
    before = _sample("authsvc_budget_refusals_total", budget="account-ip-failures")

    answers = [auth.login(user.email, "wrong guess").status_code for _ in range(3)]

    assert answers == [400, 400, 429]
    assert _sample("authsvc_budget_refusals_total", budget="account-ip-failures") - before == 1


def _database_errors() -> float:
    return sum(
        sample.value
        for metric in REGISTRY.collect()
        if metric.name == "authsvc_database_errors"
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


def test_database_errors_are_counted_by_driver_exception(app_context):
    before = _database_errors()

    with pytest.raises(Exception, match="no_such_table"):
        db.session.execute(text("SELECT * FROM no_such_table"))
    db.session.rollback()

    assert _database_errors() - before == 1


def test_login_with_the_right_password_counts_no_failure(app_context, auth):
    user = make_user()
    failures = _login_events("failure")

    assert auth.login(user.email, PASSWORD).status_code == 200
    assert _login_events("failure") == failures
