"""The budgets' counters (app/core/budget_windows.py): a sliding window counter that takes
one hit atomically, refuses beyond its limit, and gives one back, in Redis as in memory."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from app.core import attempts
from app.core.budget_windows import Charge
from app.core.budget_windows import MemoryWindows
from app.core.budget_windows import RedisWindows
from app.core.budget_windows import Window
from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.errors import TooManyAttemptsError
from tests.conftest import make_app

LIMIT, LENGTH = 10, 900


@pytest.fixture(params=["memory", "redis"])
def windows(request):
    if request.param == "memory":
        return MemoryWindows()
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    return RedisWindows(client, prefix=f"test-{uuid.uuid4().hex}")


def _key() -> str:
    return uuid.uuid4().hex


def test_a_budget_takes_its_limit_then_refuses(windows):
    key = _key()

    taken = [windows.take(key, LIMIT, LENGTH) for _ in range(LIMIT + 1)]

    assert all(t.index is not None for t in taken[:LIMIT])
    assert taken[LIMIT].index is None
    assert 1 <= taken[LIMIT].retry_after <= 2 * LENGTH


def test_giving_back_returns_exactly_one_hit(windows):
    key = _key()
    for _ in range(LIMIT):
        last = windows.take(key, LIMIT, LENGTH)

    windows.give_back(key, last.index)

    assert windows.take(key, LIMIT, LENGTH).index is not None
    assert windows.take(key, LIMIT, LENGTH).index is None


def test_giving_back_never_goes_below_zero(windows):
    key = _key()
    taken = windows.take(key, LIMIT, LENGTH)
    for _ in range(5):
        windows.give_back(key, taken.index)

    counted = [windows.take(key, LIMIT, LENGTH).index is not None for _ in range(LIMIT + 1)]

    assert counted.count(True) == LIMIT


def test_parallel_reservations_never_outrun_the_budget(windows):
    """30 at once against a budget of 10: exactly 10 are taken."""
    key = _key()

    with ThreadPoolExecutor(max_workers=30) as pool:
        taken = list(pool.map(lambda _: windows.take(key, LIMIT, LENGTH), range(30)))

    assert sum(t.index is not None for t in taken) == LIMIT


def test_taking_many_counts_each_as_a_lone_take_would(windows):
    key, other = _key(), _key()
    charges = [Charge(key, LIMIT, LENGTH)] * (LIMIT + 2) + [Charge(other, LIMIT, LENGTH)]

    taken = windows.take_many(charges)

    assert [t.index is not None for t in taken] == [True] * LIMIT + [False, False, True]
    assert 1 <= taken[LIMIT].retry_after <= 2 * LENGTH
    assert windows.take(key, LIMIT, LENGTH).index is None


def test_taking_many_loads_the_script_again_when_redis_lost_it(redis_url):
    client = redis.Redis.from_url(redis_url)
    windows = RedisWindows(client, prefix=f"test-{uuid.uuid4().hex}")
    client.script_flush()

    taken = windows.take_many([Charge(_key(), 1, LENGTH)] * 2)

    assert [t.index is not None for t in taken] == [True, False]


@pytest.mark.parametrize(
    ("elapsed", "current", "previous", "wait"),
    [
        (0, 10, 0, 900 + 0),  # this window full: the next window, where it weighs 10/10
        (450, 10, 0, 450),  # full halfway: the rest of this one... then its weight decays
        (0, 0, 10, 1),  # the previous window weighs 10, and a moment later 9.99 (floored: 9)
        (0, 0, 20, 450),  # it weighs 20: room once that is under 10, halfway through
        (450, 5, 10, 1),
    ],
)
def test_the_wait_is_until_one_more_hit_fits(elapsed, current, previous, wait):
    window = Window(index=100, elapsed=elapsed, length=900)

    assert window.seconds_until_room(10, current, previous) == wait


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

    assert 1 <= refused.value.retry_after <= 2 * 15 * 60


def test_while_redis_cannot_be_reached_the_budgets_hold_per_process(tmp_path):
    """Logins go on when Redis goes away at run time: each worker counts on its own until
    Redis answers again, and still refuses beyond the budget."""
    app = make_app(
        f"sqlite:///{tmp_path / 'budgets.db'}",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP="2 per 15 minutes",
        AUTH_RATELIMIT_CREDENTIALS_PER_IP="100 per minute",
    )
    gone = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    app.extensions["attempt_budgets"] = attempts.Budgets(app, RedisWindows(gone, prefix="x"))

    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.2"}):
        attempts.reserve_credential_check(account="user:2")
        attempts.reserve_credential_check(account="user:2")
        with pytest.raises(TooManyAttemptsError):
            attempts.reserve_credential_check(account="user:2")


def test_forget_drops_every_window_of_the_keys_with_that_prefix_only(windows):
    kept, other = "account-failures/10/900/user:1/", "account-failures/10/900/user:11/"
    for key in (kept + "198.51.100.1", kept + "198.51.100.2", other + "198.51.100.1"):
        windows.take(key, LIMIT, LENGTH)

    assert windows.forget(kept) == 2
    assert windows.take(other + "198.51.100.1", 1, LENGTH).index is None  # still counted


def test_forgetting_an_accounts_failures_frees_it_from_every_address(tmp_path, redis_url):
    """An admin's unlock: the account's budgets from every address start over, in the
    storage every worker and host shares; other accounts keep theirs."""
    app = make_app(
        f"sqlite:///{tmp_path / 'budgets.db'}",
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP="1 per 15 minutes",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT="2 per hour",
        AUTH_RATELIMIT_CREDENTIALS_PER_IP="100 per minute",
    )

    def spend(account: str, address: str) -> None:
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            attempts.reserve_credential_check(account=account)

    for address in ("198.51.100.1", "198.51.100.2"):
        spend("user:7", address)
        spend("user:77", address)
    with app.app_context():
        # Outside a request, as the CLI calls it.
        assert attempts.forget_account_failures(account="user:7") == 3

    spend("user:7", "198.51.100.1")
    with pytest.raises(TooManyAttemptsError):
        spend("user:77", "198.51.100.3")


def _token_budget_app(tmp_path, redis_url, limit: str):
    return make_app(
        f"sqlite:///{tmp_path / 'budgets.db'}",
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        AUTH_RATELIMIT_REFRESH_PER_IP=limit,
    )


def _refused(check) -> bool:
    try:
        check()
    except TooManyAttemptsError:
        return True
    return False


def test_a_token_that_does_not_verify_is_charged_before_its_failure_is_answered(
    tmp_path, redis_url
):
    app = _token_budget_app(tmp_path, redis_url, "3 per minute")

    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.4"}):
        for read in (_forged, _expired, _forged):
            with pytest.raises((TokenInvalidError, TokenExpiredError)):
                attempts.checked_token(read)
        with pytest.raises(TooManyAttemptsError) as refused:
            attempts.checked_token(_forged)

    assert 1 <= refused.value.retry_after <= 120


def test_verified_tokens_are_counted_off_the_request_path_and_stop_an_address_past_its_budget(
    tmp_path, redis_url
):
    """The checks go through while their charges wait for the next round trip; once the
    storage refuses one, this worker refuses that address at once, without asking it, and
    the shared counter never passes the budget."""
    app = _token_budget_app(tmp_path, redis_url, "3 per minute")
    budgets = app.extensions["attempt_budgets"]
    address, other = {"REMOTE_ADDR": "198.51.100.5"}, {"REMOTE_ADDR": "198.51.100.6"}

    with app.test_request_context(environ_base=address):
        passed = [attempts.checked_token(lambda: "claims") for _ in range(5)]
    assert budgets.flush()
    with app.test_request_context(environ_base=address):
        refused = _refused(lambda: attempts.checked_token(lambda: "claims"))
        forged_refused = _refused(lambda: attempts.checked_token(_forged))
    with app.test_request_context(environ_base=other):
        elsewhere = attempts.checked_token(lambda: "claims")

    assert passed == ["claims"] * 5
    assert refused and forged_refused
    assert elsewhere == "claims"
    assert budgets.windows.take("refresh/3/60/198.51.100.5", 3, 60).index is None


def _forged() -> None:
    raise TokenInvalidError()


def _expired() -> None:
    raise TokenExpiredError()
