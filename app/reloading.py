"""A reload (``kill -HUP`` of gunicorn's master) that serves new code.

gunicorn's master loads the app once (``preload_app``) and forks every worker from it, so a
reload alone would start new workers on the code loaded at start. On a reload, the master
first imports the WSGI app in a child Python, as it would itself; only if that starts does
it forget its own modules of the service and import them again, so the new workers fork from
the new code. New code that does not start (a syntax error, a configuration refusal) is
logged on one line, and the running code goes on serving: a bad deploy never stops a host.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import event

CHECK_TIMEOUT_SECONDS = 120
# The service's own top-level modules; every other import (Flask, SQLAlchemy...) is kept.
OWN_MODULES = ("app", "wsgi", "config")
_MODULES_WITH_CLASS_LISTENERS = (
    "app.database",
    "app.core.mail.mail",
    "app.core.mail.outbox",
    "app.core.hooks.events",
    "app.core.hooks.delivery",
)


class NewCodeRefused(Exception):
    pass


def load_new_code(gunicorn_app: Any) -> None:
    """Replace the master's app with the code on disk now; NewCodeRefused (and the old app
    kept) when that code does not start."""
    check_new_code_starts(gunicorn_app.app_uri)
    running = {name: module for name, module in sys.modules.items() if _is_own(name)}
    hooks = process_hooks()
    _forget(running, hooks)
    try:
        gunicorn_app.callable = gunicorn_app.load()
    except BaseException as error:  # the running code must stay whole: put it back
        _forget({name: sys.modules[name] for name in sys.modules if _is_own(name)}, process_hooks())
        sys.modules.update(running)
        _restore(hooks)
        raise NewCodeRefused(f"{type(error).__name__}: {error}") from error


def check_new_code_starts(app_uri: str) -> None:
    # The child keeps its metrics in memory: it must leave no file among the workers'.
    env = {name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    try:
        child = subprocess.run(  # noqa: S603 (this interpreter, a fixed program)
            [
                sys.executable,
                "-c",
                f"from gunicorn.util import import_app; import_app({app_uri!r})",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=CHECK_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as error:
        raise NewCodeRefused(f"loading it took over {CHECK_TIMEOUT_SECONDS}s") from error
    if child.returncode != 0:
        lines = [line for line in child.stderr.splitlines() if line.strip()]
        raise NewCodeRefused(lines[-1] if lines else f"exit status {child.returncode}")


@dataclass(frozen=True)
class ProcessHooks:
    """What importing the service adds beyond its own modules: SQLAlchemy listeners on its
    shared classes and metrics in prometheus-client's registry."""

    listeners: tuple[tuple[Any, str, Any], ...]
    metrics: tuple[MetricWrapperBase, ...]


def process_hooks() -> ProcessHooks:
    """The hooks of the service's modules imported now (read, never imported here: after a
    failed import, some are missing)."""
    listeners = tuple(
        listener
        for name in _MODULES_WITH_CLASS_LISTENERS
        for listener in getattr(sys.modules.get(name), "CLASS_LISTENERS", ())
    )
    metrics = sys.modules.get("app.core.metrics")
    found = () if metrics is None else tuple(
        value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)
    )  # fmt: skip
    return ProcessHooks(listeners=listeners, metrics=found)


def _forget(modules: dict[str, ModuleType], hooks: ProcessHooks) -> None:
    for target, name, listener in hooks.listeners:
        if event.contains(target, name, listener):
            event.remove(target, name, listener)
    for metric in hooks.metrics:
        REGISTRY.unregister(metric)
    for name in modules:
        del sys.modules[name]


def _restore(hooks: ProcessHooks) -> None:
    for target, name, listener in hooks.listeners:
        event.listen(target, name, listener)
    for metric in hooks.metrics:
        REGISTRY.register(metric)


def _is_own(name: str) -> bool:
    return name.split(".", 1)[0] in OWN_MODULES
