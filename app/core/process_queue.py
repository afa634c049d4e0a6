"""A queue drained by one background thread in each worker process.

gunicorn loads the app before it forks, so a thread started at import would live in the
master only: each process starts its own thread, with a fresh queue, the first time it
queues an item.
"""

import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic
from typing import TypeVar

T = TypeVar("T")


class ProcessQueue(Generic[T]):
    def __init__(self, name: str, drain: Callable[["queue.Queue[T]"], None]) -> None:
        """``drain`` runs forever on the thread, taking items and marking each task done."""
        self._name = name
        self._drain = drain
        self._queue: queue.Queue[T] = queue.Queue()
        self._pid: int | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Items queued and not yet done with."""
        return self._queue.unfinished_tasks

    def put(self, item: T) -> None:
        self._start_in_this_process()
        self._queue.put(item)

    def wait_until_done(self, timeout: float) -> bool:
        """Wait until every queued item is done with; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._queue.unfinished_tasks

    def _start_in_this_process(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.Queue()
                drained = self._queue
                threading.Thread(
                    target=self._drain, args=(drained,), name=self._name, daemon=True
                ).start()
                self._pid = os.getpid()
