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


class BatchQueue(Generic[T]):
    """Items queued by requests, handed to ``handle`` in batches by the process's thread.

    The first item wakes the thread; it waits ``wait_seconds`` for others and takes up to
    ``most``. The wait is slept out rather than waited for item by item: an item queued
    meanwhile wakes no thread, where a waiting get() would hand the GIL to this thread for
    every item (docs/benchmarks.md). ``flush`` cuts the wait short. A batch whose ``handle``
    raises goes to ``failed``, and the thread goes on with the next one.
    """

    def __init__(
        self,
        name: str,
        handle: Callable[[list[T]], None],
        failed: Callable[[list[T], Exception], None],
        *,
        wait_seconds: float,
        most: int,
    ) -> None:
        self._handle = handle
        self._failed = failed
        self._wait_seconds = wait_seconds
        self._most = most
        self._hurry = threading.Event()
        self._queue: ProcessQueue[T] = ProcessQueue(name, self._run)

    @property
    def pending(self) -> int:
        return self._queue.pending

    def put(self, item: T) -> None:
        self._queue.put(item)

    def flush(self, timeout: float) -> bool:
        """Wait until every queued item is handled (or given up on); False on timeout."""
        self._hurry.set()
        try:
            return self._queue.wait_until_done(timeout)
        finally:
            self._hurry.clear()

    def _run(self, items: "queue.Queue[T]") -> None:
        while True:
            batch = self._next_batch(items)
            try:
                self._handle(batch)
            except Exception as error:
                # The thread must outlive any one batch, or every later item would pile up.
                self._failed(batch, error)
            finally:
                for _ in batch:
                    items.task_done()

    def _next_batch(self, items: "queue.Queue[T]") -> list[T]:
        batch = [items.get()]
        if items.qsize() < self._most:
            self._hurry.wait(self._wait_seconds)
        while len(batch) < self._most:
            try:
                batch.append(items.get_nowait())
            except queue.Empty:
                break
        return batch
