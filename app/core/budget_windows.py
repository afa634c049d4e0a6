"""The counters behind the brute-force budgets: sliding windows that can give one back.

A budget of ``limit`` per ``window`` seconds counts hits in fixed windows (index
``floor(now / window)``) and weighs the previous window by the share of it still inside the
sliding window: ``floor(previous * (1 - elapsed / window)) + current``, the sliding window
counter that ``limits`` uses too. What ``limits`` does not offer is giving a hit back (a
credential check that succeeded spends nothing of a failure budget), so the counters are the
service's own:

- ``RedisWindows``: two Lua scripts, each one atomic step in Redis, shared by every worker
  and host. ``TAKE`` counts one hit if the budget allows it; ``GIVE_BACK`` removes one from
  the window that took it, never below zero.
- ``MemoryWindows``: the same in one process (``memory://``, and the fallback while Redis
  cannot be reached), under a lock.

A hit is recorded in the window of its index, so the refund finds it there even if the
window has turned since.
"""

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Protocol
from typing import cast

import redis

# KEYS[1]: this window's counter, KEYS[2]: the previous window's.
# ARGV[1]: the limit, ARGV[2]: the previous window's weight (0 to 1), ARGV[3]: expiry in ms.
# Counts one hit when the weighted count leaves room for it. Answers {taken (1 or 0), this
# window's count, the previous window's count}, the counts as they were before this hit.
TAKE = """
local current = tonumber(redis.call('get', KEYS[1]) or '0')
local previous = tonumber(redis.call('get', KEYS[2]) or '0')
if math.floor(previous * tonumber(ARGV[2])) + current + 1 > tonumber(ARGV[1]) then
    return {0, current, previous}
end
redis.call('incr', KEYS[1])
redis.call('pexpire', KEYS[1], ARGV[3])
return {1, current, previous}
"""
# KEYS[1]: the counter a hit was counted in. Removes it, never below zero.
GIVE_BACK = """
local count = tonumber(redis.call('get', KEYS[1]) or '0')
if count > 0 then
    redis.call('decr', KEYS[1])
end
return count
"""


@dataclass(frozen=True)
class Window:
    """Where a moment stands: the index of its fixed window, how far into it, and the weight
    the previous window still carries."""

    index: int
    elapsed: float
    length: int

    @classmethod
    def at(cls, now: float, length: int) -> "Window":
        index = math.floor(now / length)
        return cls(index, now - index * length, length)

    @property
    def previous_weight(self) -> float:
        return 1 - self.elapsed / self.length

    def seconds_until_room(self, limit: int, current: int, previous: int) -> int:
        """How long until one more hit fits, if nothing else is counted meanwhile."""
        if current < limit and previous:
            # Later in this window, when the previous one weighs little enough.
            share = (limit - current) / previous
            if share < 1:
                return self._seconds(self.length * (1 - share) - self.elapsed)
        if current < limit:
            return 1
        # In the next window, where this one is the previous.
        left = self.length - self.elapsed
        return self._seconds(left + max(0.0, self.length * (1 - limit / current)))

    @staticmethod
    def _seconds(value: float) -> int:
        return max(1, math.ceil(value))


@dataclass(frozen=True)
class Taken:
    """One hit counted (``index``: the window it was counted in), or refused (``index`` None,
    and how long until there is room)."""

    index: int | None
    retry_after: int = 0


@dataclass(frozen=True)
class Charge:
    """One hit to count: ``key``'s budget of ``limit`` per ``length`` seconds."""

    key: str
    limit: int
    length: int


class WindowCounters(Protocol):
    def take(self, key: str, limit: int, length: int) -> Taken:
        """Count one hit of ``key`` if its budget of ``limit`` per ``length`` seconds
        allows."""

    def take_many(self, charges: Sequence[Charge]) -> list[Taken]:
        """``take`` for each charge in turn, in one round trip where the storage is remote."""

    def give_back(self, key: str, index: int) -> None:
        """Remove one hit counted in window ``index`` (never below zero)."""

    def forget(self, key_prefix: str) -> int:
        """Drop every window of every key that starts with ``key_prefix``; how many."""


@dataclass
class RedisWindows:
    client: redis.Redis
    prefix: str

    def __post_init__(self) -> None:
        self._take = self.client.register_script(TAKE)
        self._give_back = self.client.register_script(GIVE_BACK)

    def take(self, key: str, limit: int, length: int) -> Taken:
        window = Window.at(time.time(), length)
        keys, args = self._take_arguments(key, limit, window)
        answer = self._take(keys=keys, args=args)
        return _taken(window, limit, answer)

    def take_many(self, charges: Sequence[Charge]) -> list[Taken]:
        # Not a transaction: each script is atomic on its own, as a lone take() is. By its
        # hash, without the Script object's check that it is loaded (a round trip more per
        # batch): a Redis that lost it answers NOSCRIPT, and those charges go one by one.
        pipeline = self.client.pipeline(transaction=False)
        windows = [Window.at(time.time(), charge.length) for charge in charges]
        for charge, window in zip(charges, windows, strict=True):
            keys, args = self._take_arguments(charge.key, charge.limit, window)
            pipeline.evalsha(self._take.sha, len(keys), *keys, *args)
        answers = pipeline.execute(raise_on_error=False)
        return [
            self._taken_or_retaken(charge, window, answer)
            for charge, window, answer in zip(charges, windows, answers, strict=True)
        ]

    def _taken_or_retaken(self, charge: Charge, window: Window, answer: object) -> Taken:
        if isinstance(answer, redis.exceptions.NoScriptError):
            return self.take(charge.key, charge.limit, charge.length)
        if isinstance(answer, Exception):
            raise answer
        return _taken(window, charge.limit, cast(list[int], answer))

    def _take_arguments(
        self, key: str, limit: int, window: Window
    ) -> tuple[list[str], list[float]]:
        keys = [self._key(key, window.index), self._key(key, window.index - 1)]
        return keys, [limit, window.previous_weight, 2 * window.length * 1000]

    def give_back(self, key: str, index: int) -> None:
        self._give_back(keys=[self._key(key, index)])

    def forget(self, key_prefix: str) -> int:
        pattern = _glob_escaped(f"{self.prefix}/{key_prefix}") + "*"
        found = list(self.client.scan_iter(match=pattern, count=1000))
        return int(self.client.delete(*found)) if found else 0

    def _key(self, key: str, index: int) -> str:
        return f"{self.prefix}/{key}/{index}"


def _taken(window: Window, limit: int, answer: list[int]) -> Taken:
    taken, current, previous = answer
    if taken == 1:
        return Taken(window.index)
    return Taken(None, window.seconds_until_room(limit, int(current), int(previous)))


PRUNE_EVERY = 1024


@dataclass
class MemoryWindows:
    # (key, window index) -> [count, when the entry may go (monotonic)]
    _counts: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _takes: int = 0

    def take(self, key: str, limit: int, length: int) -> Taken:
        window = Window.at(time.time(), length)
        with self._lock:
            self._prune_now_and_then()
            current = int(self._count(key, window.index))
            previous = int(self._count(key, window.index - 1))
            if math.floor(previous * window.previous_weight) + current + 1 > limit:
                return Taken(None, window.seconds_until_room(limit, current, previous))
            self._counts[(key, window.index)] = [current + 1, time.monotonic() + 2 * length]
            return Taken(window.index)

    def take_many(self, charges: Sequence[Charge]) -> list[Taken]:
        return [self.take(charge.key, charge.limit, charge.length) for charge in charges]

    def give_back(self, key: str, index: int) -> None:
        with self._lock:
            entry = self._counts.get((key, index))
            if entry is not None and entry[0] > 0:
                entry[0] -= 1

    def forget(self, key_prefix: str) -> int:
        with self._lock:
            found = [entry for entry in self._counts if entry[0].startswith(key_prefix)]
            for entry in found:
                del self._counts[entry]
            return len(found)

    def _count(self, key: str, index: int) -> float:
        entry = self._counts.get((key, index))
        return 0 if entry is None else entry[0]

    def _prune_now_and_then(self) -> None:
        self._takes += 1
        if self._takes % PRUNE_EVERY:
            return
        now = time.monotonic()
        for stale in [k for k, (_count, until) in self._counts.items() if until < now]:
            del self._counts[stale]


def _glob_escaped(text: str) -> str:
    """``text`` matched literally by Redis's glob-style MATCH."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)
