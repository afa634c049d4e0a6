"""bench/fixed_cost.py's accounting: /proc CPU of a process, and py-spy stacks into parts."""

import os

from bench import fixed_cost

GUNICORN = "run (gunicorn/app/wsgiapp.py:66);ThreadWorker.handle (gunicorn/workers/gthread.py:1)"
FLASK = "Flask.wsgi_app (flask/app.py:1536)"


def test_a_stack_is_charged_to_the_first_part_it_reaches():
    parts = {
        f"{GUNICORN};{FLASK};healthz (app/api/health.py:20)": "the service's hooks and view",
        f"{GUNICORN};{FLASK};Response.__init__ (werkzeug/wrappers/response.py:1)": (
            "Flask and werkzeug: contexts, routing, request and response"
        ),
        f"{GUNICORN};Logger.access (gunicorn/glogging.py:1)": "gunicorn's access log line",
        GUNICORN: "gunicorn: accept, parse, hand-offs between threads, write",
        "_bootstrap (threading.py:1)": fixed_cost.SERVER_REST,
    }

    assert {stack: fixed_cost._part(stack) for stack in parts} == parts


def test_the_cpu_time_of_a_process_is_read_from_proc():
    before = fixed_cost._cpu_ticks(os.getpid())
    sum(i * i for i in range(2_000_000))

    assert fixed_cost._cpu_ticks(os.getpid()) > before
