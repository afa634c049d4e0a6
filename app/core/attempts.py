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
of 10, 10 are checked and 20 refused, on any number of workers and hosts. A request refused
earlier (cross-site, not JSON, a malformed body) reaches no check and is never charged.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from functools import cache

import redis
from flask import Flask
from flask import current_app
from flask import has_request_context
from flask import request
from limits import RateLimitItem
from limits import parse

from app.core.budget_windows import MemoryWindows
from app.core.budget_windows import RedisWindows
from app.core.budget_windows import WindowCounters
from app.core.errors import StorageUnavailableError
from app.core.errors import TooManyAttemptsError
from app.core.metrics import BUDGET_REFUSALS
from app.core.metrics import REDIS_ERRORS

_EXTENSION = "attempt_budgets"
logger = logging.getLogger(__name__)


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


def reserve_token_check() -> None:
    """Charge the per-address budget of one refresh (or verify, or blacklist) check."""
    budgets = _budgets()
    if budgets is not None:
        budgets.charge(TOKENS_PER_IP, _client_address())


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
    app.extensions[_EXTENSION] = Budgets(app, _windows_of(app))


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
