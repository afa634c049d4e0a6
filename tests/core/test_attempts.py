"""The budgets' use of the ``limits`` storage API: an atomic reservation, and a refund by a
negative acquisition (a canary: ``limits`` documents positive amounts only)."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from app.core import attempts
from app.core.errors import TooManyAttemptsError
from tests.conftest import make_app

BUDGET = parse("10 per 15 minutes")


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    if request.param == "memory":
        return storage_from_string("memory://")
    return storage_from_string(request.getfixturevalue("redis_url"))


def test_a_negative_acquisition_gives_back_exactly_one_hit(storage):
    strategy = SlidingWindowCounterRateLimiter(storage)
    key = ("canary", uuid.uuid4().hex)
    for _ in range(BUDGET.amount):
        assert strategy.hit(BUDGET, *key)
    assert not strategy.hit(BUDGET, *key)

    storage.acquire_sliding_window_entry(
        BUDGET.key_for(*key), BUDGET.amount, BUDGET.get_expiry(), amount=-1
    )

    assert strategy.hit(BUDGET, *key)
    assert not strategy.hit(BUDGET, *key)


def test_parallel_reservations_never_outrun_the_budget(storage):
    """30 at once against a budget of 10: exactly 10 are taken, on Redis's script as in
    memory."""
    strategy = SlidingWindowCounterRateLimiter(storage)
    key = ("parallel", uuid.uuid4().hex)

    with ThreadPoolExecutor(max_workers=30) as pool:
        taken = list(pool.map(lambda _: strategy.hit(BUDGET, *key), range(30)))

    assert taken.count(True) == BUDGET.amount


def test_a_successful_check_gives_its_failure_budgets_back(tmp_path, redis_url):
    app = make_app(
        f"sqlite:///{tmp_path / 'budgets.db'}",
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP="2 per 15 minutes",
        AUTH_RATELIMIT_CREDENTIALS_PER_IP="100 per minute",
    )

    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.1"}):
        for _ in range(5):
            attempts.reserve_credential_check(account="user:1").succeeded()
        attempts.reserve_credential_check(account="user:1")
        attempts.reserve_credential_check(account="user:1")
        with pytest.raises(TooManyAttemptsError) as refused:
            attempts.reserve_credential_check(account="user:1")

    assert 1 <= refused.value.retry_after <= 15 * 60
