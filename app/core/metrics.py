"""What an operator watches: the service's Prometheus metrics, defined once.

Each process counts into prometheus-client's default registry; under gunicorn with
METRICS_PORT set, every worker writes its values to PROMETHEUS_MULTIPROC_DIR and the master
serves their sum (app/metrics_exporter.py). Labels hold names from the code only (events,
budgets, route templates), never a user, an email, an address or a raw path, so the number
of series stays bounded whatever clients send.
"""

from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram

# The audit log's outcomes that mean the step went through.
_SUCCESSFUL_OUTCOMES = frozenset({"success", "requested", "mfa_required"})

AUTH_EVENTS = Counter(
    "authsvc_auth_events",
    "Auth events as the audit log records them, by event and outcome (success or failure).",
    ["event", "outcome"],
)
REQUEST_DURATION = Histogram(
    "authsvc_http_request_duration_seconds",
    "Time from the first hook to the response, by method, route template and status class.",
    ["method", "route", "status_class"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BUDGET_REFUSALS = Counter(
    "authsvc_budget_refusals",
    "Requests refused because a brute-force budget or a rate limit was spent, by budget.",
    ["budget"],
)
MAIL_QUEUE_DEPTH = Gauge(
    "authsvc_mail_queue_depth",
    "Mails (and the jobs that write them) in the outbox, not yet sent nor given up on, as a "
    "worker last counted them.",
    multiprocess_mode="livemostrecent",
)
MAIL_FAILURES = Counter(
    "authsvc_mail_failures",
    "Mails not sent, by stage: attempt (one try failed), given_up, job (writing it failed).",
    ["stage"],
)
WEBHOOK_QUEUE_DEPTH = Gauge(
    "authsvc_webhook_queue_depth",
    "Webhook deliveries waiting (due, or waiting for a retry), as a worker last counted them.",
    multiprocess_mode="livemostrecent",
)
WEBHOOK_DELIVERIES = Counter(
    "authsvc_webhook_deliveries",
    "Webhook delivery attempts by outcome: sent, retry (an attempt failed), failed (given up).",
    ["outcome"],
)
DATABASE_ERRORS = Counter(
    "authsvc_database_errors",
    "Errors the database driver raised, by exception class.",
    ["error"],
)
REDIS_ERRORS = Counter(
    "authsvc_redis_errors",
    "Errors reaching the rate-limit storage (Redis), by what was being done.",
    ["operation"],
)


def count_auth_event(event: str, outcome: str) -> None:
    AUTH_EVENTS.labels(event, "success" if outcome in _SUCCESSFUL_OUTCOMES else "failure").inc()
