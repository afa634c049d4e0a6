"""The master's reload of new code (app/reloading.py): refused before anything is touched when
the code does not start in a child, and put back whole when it fails in the master itself.
Through gunicorn: tests/e2e/test_reload_under_load.py."""

import sys

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlalchemy import event

from app import database
from app import reloading
from app.core import metrics


class FailingLoad:
    """A gunicorn application whose code imports in a child but fails in the master."""

    app_uri = "json:dumps"
    callable = None

    def load(self) -> object:
        import app.core.models  # noqa: F401 (a new copy of some modules, then the failure)

        raise RuntimeError("the database driver went away")


def test_code_that_does_not_start_in_a_child_is_refused_with_its_last_line():
    with pytest.raises(reloading.NewCodeRefused, match="ModuleNotFoundError: No module named"):
        reloading.check_new_code_starts("no_such_module:app")


def test_a_load_that_fails_in_the_master_puts_the_running_code_back_whole():
    running = {name: module for name, module in sys.modules.items() if reloading._is_own(name)}

    with pytest.raises(reloading.NewCodeRefused, match="RuntimeError: the database driver"):
        reloading.load_new_code(FailingLoad())

    assert {name: sys.modules.get(name) for name in running} == running
    assert event.contains(Engine, "connect", database._tune_sqlite)
    metrics.BUDGET_REFUSALS.labels("reload-test").inc()
    assert (
        REGISTRY.get_sample_value("authsvc_budget_refusals_total", {"budget": "reload-test"}) == 1
    )
