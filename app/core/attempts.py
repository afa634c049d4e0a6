"""Brute-force budgets, charged where a credential or token is checked (OWASP ASVS 5 V6.3.1).

- Per client address, every check of a password, client key or mailed token, and every
  sign-up or mail request, draws from one budget shared by all dialects
  (``AUTH_RATELIMIT_CREDENTIALS_PER_IP``); every check of a refresh or access token sent to a
  token endpoint draws from another (``AUTH_RATELIMIT_REFRESH_PER_IP``).
- Per account, failed checks draw from two budgets (OWASP Authentication Cheat Sheet, "Account
  lockout"): failures from one address (``AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP``), so a
  stranger spends only their own address's share and the owner elsewhere keeps logging in;
  and failures from every address together (``AUTH_RATELIMIT_FAILURES_PER_ACCOUNT``), which
  caps guessing spread over many addresses.

A budget is charged before the check, by one atomic step in the budgets' storage (a sliding
window counter, app/core/budget_windows.py: a Lua script in Redis, which production
requires, or a counter in process for ``memory://``), and a failure budget is given back when
the check succeeds. So parallel guesses cannot outrun it: of 30 at once against a budget
of 10, 10 are checked and 20 refused, on any number of workers and hosts. A token that
verifies guesses nothing, and its charge is made off the request path (``checked_token``).
A request refused earlier (cross-site, not JSON, a malformed body) reaches no check and is
never charged.
"""

import atexit
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from functools import cache
from typing import TypeVar

import redis
from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request
from limits import RateLimitItem
from limits import parse

from app.core.budget_windows import Charge
from app.core.budget_windows import MemoryWindows
from app.core.budget_windows import RedisWindows
from app.core.budget_windows import Taken
from app.core.budget_windows import WindowCounters
from app.core.errors import StorageUnavailableError
from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.errors import TooManyAttemptsError
from app.core.metrics import BUDGET_REFUSALS
from app.core.metrics import REDIS_ERRORS
from app.core.process_queue import BatchQueue

_EXTENSION = "attempt_budgets"
logger = logging.getLogger(__name__)
T = TypeVar("T")
# How long the first queued charge of a verified token check waits for others to share its
# round trip; an address past its budget is stopped within about this long.
CHARGE_LATER_SECONDS = 0.01
MAX_CHARGES_PER_TRIP = 500
# Beyond this many uncounted charges (the storage is slow), a charge is counted at once.
MAX_PENDING_CHARGES = 10_000
MAX_REFUSED_KEYS = 10_000


@dataclass(frozen=True)
class Budget:
    scope: str
    setting: str


CREDENTIALS_PER_IP = Budget("credentials", "AUTH_RATELIMIT_CREDENTIALS_PER_IP")
TOKENS_PER_IP = Budget("refresh", "AUTH_RATELIMIT_REFRESH_PER_IP")
FAILURES_PER_ACCOUNT_AND_IP = Budget(
    "account-ip-failures", "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"
)
FAILURES_PER_ACCOUNT = Budget("account-failures", "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT")


@dataclass
class Attempt:
    """A credential check under way; its failure budgets are spent unless it succeeds."""

    _refunds: list[Callable[[], None]] = field(default_factory=list)

    def hold(self, refund: Callable[[], None]) -> None:
        self._refunds.append(refund)

    def succeeded(self) -> None:
        while self._refunds:
            self._refunds.pop()()


def reserve_credential_check(*, account: str | None) -> Attempt:
    """Charge the budgets of one credential check on ``account`` (a stable key such as
    ``user:42``, or None when no account is named), or raise TooManyAttemptsError."""
    attempt = Attempt()
    budgets = _budgets()
    if budgets is None:
        return attempt
    address = _client_address()
    budgets.charge(CREDENTIALS_PER_IP, address)
    if account is not None:
        attempt.hold(budgets.charge(FAILURES_PER_ACCOUNT_AND_IP, account, address))
        try:
            attempt.hold(budgets.charge(FAILURES_PER_ACCOUNT, account))
        except TooManyAttemptsError:
            attempt.succeeded()
            raise
    return attempt


def checked_token(read: Callable[[], T]) -> T:
    """``read()`` a presented refresh token (or any token, for verify and blacklist) under
    the per-address token budget (TOKENS_PER_IP), whatever its answer.

    A token that does not verify (malformed, forged, expired) is charged before its failure
    is answered, in one atomic step in the shared storage: of 30 such at once against a
    budget of 10, 10 get the token's own error and 20 get 429, on any number of workers and
    hosts. A token that verifies was signed by this service and guesses nothing, so its
    check is charged off the request path: queued, and sent with this worker's other
    charges in one round trip within CHARGE_LATER_SECONDS. An address refused there is
    refused by this worker at once until it has room, so an address past its budget is
    stopped within one such interval (docs/decisions/0018-refresh-off-the-critical-path.md).
    """
    try:
        value = read()
    except (TokenInvalidError, TokenExpiredError):
        budgets = _budgets()
        if budgets is not None:
            budgets.charge(TOKENS_PER_IP, _client_address())
        raise
    budgets = _budgets()
    if budgets is not None:
        budgets.charge_later(TOKENS_PER_IP, _client_address())
    return value


def forget_account_failures(*, account: str) -> int:
    """Clear both failure budgets of ``account`` (from one address, from every address), so
    an account locked out by failed checks may try again at once; how many counters went."""
    budgets: Budgets | None = current_app.extensions.get(_EXTENSION)
    if budgets is None:
        return 0
    scopes = (FAILURES_PER_ACCOUNT_AND_IP, FAILURES_PER_ACCOUNT)
    try:
        return sum(budgets.windows.forget(budgets.key_prefix(scope, account)) for scope in scopes)
    except redis.RedisError as error:
        REDIS_ERRORS.labels("forget").inc()
        raise StorageUnavailableError("The rate-limit storage cannot be reached.") from error


def install_attempt_budgets(app: Flask) -> None:
    """Bind the budgets to RATELIMIT_STORAGE_URI: Redis, or a counter in this process."""
    budgets = Budgets(app, _windows_of(app))
    app.extensions[_EXTENSION] = budgets
    if isinstance(budgets.windows, RedisWindows):
        # Charges still queued when the worker stops are counted before it exits.
        atexit.register(budgets.flush)


def _windows_of(app: Flask) -> WindowCounters:
    uri = app.config["RATELIMIT_STORAGE_URI"] or "memory://"
    if not uri.startswith(("redis://", "rediss://")):
        return MemoryWindows()
    options = app.config["RATELIMIT_STORAGE_OPTIONS"]
    client = redis.Redis.from_url(uri, **options)
    return RedisWindows(client, prefix=f"{app.config['RATELIMIT_KEY_PREFIX']}/budgets")


@dataclass
class Budgets:
    """The budgets in their storage, with a per-process fallback while it is down."""

    app: Flask
    windows: WindowCounters
    _fallback: MemoryWindows = field(default_factory=MemoryWindows)
    _storage_down_until: float = 0.0
    _later: "LaterCharges" = field(init=False)

    def __post_init__(self) -> None:
        self._later = LaterCharges(self)

    def charge(self, budget: Budget, *identifiers: str) -> Callable[[], None]:
        """Take one from ``budget``, or raise TooManyAttemptsError; returns the refund."""
        item = _parsed(self.app.config[budget.setting])
        key = "/".join((self._limit_prefix(budget, item), *identifiers))
        windows = self._windows()
        try:
            taken = windows.take(key, item.amount, item.get_expiry())
        except redis.RedisError:
            REDIS_ERRORS.labels("charge").inc()
            windows = self._storage_failed()
            taken = windows.take(key, item.amount, item.get_expiry())
        if taken.index is None:
            BUDGET_REFUSALS.labels(budget.scope).inc()
            raise TooManyAttemptsError(retry_after=taken.retry_after)
        index = taken.index
        return lambda: _give_back(windows, key, index)

    def charge_later(self, budget: Budget, *identifiers: str) -> None:
        """Count one against ``budget`` off the request path, or raise TooManyAttemptsError
        if this worker has seen it refused and it has no room yet. Counted at once when the
        counters are in this process, where that costs no more than queueing it."""
        item = _parsed(self.app.config[budget.setting])
        key = "/".join((self._limit_prefix(budget, item), *identifiers))
        self._later.raise_if_refused(budget, key)
        if isinstance(self._windows(), MemoryWindows):
            self.charge(budget, *identifiers)
            return
        self._later.submit(Charge(key, item.amount, item.get_expiry()))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every charge queued by charge_later is counted; False on timeout."""
        return self._later.flush(timeout)

    def take_many(self, charges: list[Charge]) -> list[Taken]:
        """Each charge taken in the shared storage in one round trip, or in this process
        while the storage cannot be reached."""
        windows = self._windows()
        try:
            return windows.take_many(charges)
        except redis.RedisError:
            REDIS_ERRORS.labels("charge").inc()
            return self._storage_failed().take_many(charges)

    def key_prefix(self, budget: Budget, identifier: str) -> str:
        """The start of every counter key of ``budget`` whose first identifier is this."""
        item = _parsed(self.app.config[budget.setting])
        return f"{self._limit_prefix(budget, item)}/{identifier}/"

    @staticmethod
    def _limit_prefix(budget: Budget, item: RateLimitItem) -> str:
        return f"{budget.scope}/{item.amount}/{item.get_expiry()}"

    def _windows(self) -> WindowCounters:
        return self._fallback if time.monotonic() < self._storage_down_until else self.windows

    def _storage_failed(self) -> WindowCounters:
        # Limits held per process rather than none; the shared storage is tried again
        # after a while.
        retry_seconds = self.app.config["AUTH_RATELIMIT_STORAGE_RETRY_SECONDS"]
        logger.warning(
            "Rate-limit storage unreachable: budgets are per process for now; Redis is tried "
            "again in %s s",
            retry_seconds,
        )
        self._storage_down_until = time.monotonic() + retry_seconds
        return self._fallback


class LaterCharges:
    """The charges of verified token checks, sent by one thread per worker in batches: the
    first charge wakes it, it waits CHARGE_LATER_SECONDS for others, and takes them all in
    one round trip. A refused charge keeps its address refused by this worker (in process,
    without asking the storage) until the storage said there is room again."""

    def __init__(self, budgets: Budgets) -> None:
        self._budgets = budgets
        self._queue: BatchQueue[Charge] = BatchQueue(
            "budget-charges",
            self._count,
            self._not_counted,
            wait_seconds=CHARGE_LATER_SECONDS,
            most=MAX_CHARGES_PER_TRIP,
        )
        self._refused_until: dict[str, float] = {}

    def raise_if_refused(self, budget: Budget, key: str) -> None:
        until = self._refused_until.get(key)
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            self._refused_until.pop(key, None)
            return
        BUDGET_REFUSALS.labels(budget.scope).inc()
        raise TooManyAttemptsError(retry_after=max(1, math.ceil(left)))

    def submit(self, charge: Charge) -> None:
        if self._queue.pending >= MAX_PENDING_CHARGES:
            # The storage has been slow a while: count this one now rather than queue more.
            self._count([charge])
            return
        self._queue.put(charge)

    def flush(self, timeout: float) -> bool:
        return self._queue.flush(timeout)

    @staticmethod
    def _not_counted(batch: list[Charge], error: Exception) -> None:
        logger.error(
            "Budget charges not counted", exc_info=error, extra={"fields": {"charges": len(batch)}}
        )

    def _count(self, batch: list[Charge]) -> None:
        answers = self._budgets.take_many(batch)
        now = time.monotonic()
        for charge, taken in zip(batch, answers, strict=True):
            if taken.index is None:
                self._refused_until[charge.key] = now + taken.retry_after
        if len(self._refused_until) > MAX_REFUSED_KEYS:
            self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        for key, until in list(self._refused_until.items()):
            if until <= now:
                self._refused_until.pop(key, None)


def _give_back(windows: WindowCounters, key: str, index: int) -> None:
    """Undo one hit: a successful check spends nothing of a failure budget."""
    try:
        windows.give_back(key, index)
    except redis.RedisError:
        REDIS_ERRORS.labels("refund").inc()
        logger.warning("Rate-limit storage unreachable: a successful attempt stays counted")


@cache
def _parsed(limit: str) -> RateLimitItem:
    return parse(limit)


def _budgets() -> Budgets | None:
    """The app's budgets; none outside a request (the CLI) or with limits switched off."""
    if not has_request_context() or not current_app.config["RATELIMIT_ENABLED"]:
        return None
    return current_app.extensions.get(_EXTENSION)


def _client_address() -> str:
    """The socket peer, or the hop that TRUSTED_PROXIES allows ProxyFix to read."""
    return request.remote_addr or "unknown"
