"""Log lines never carry secrets, SQL or a traceback's paths and source, and cannot be forged
(OWASP ASVS 5 V16.2.5, V16.4.1)."""

import json
import logging

from app.logs import JsonFormatter


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("app", logging.ERROR, __file__, 1, message, args, exc_info)


def test_a_newline_in_a_value_cannot_forge_a_second_line():
    line = JsonFormatter(with_traceback=False).format(
        _record("login failed for %s", 'mallory\n{"level": "INFO", "message": "admin ok"}')
    )

    assert "\n" not in line
    assert json.loads(line)["message"].startswith("login failed for mallory\n")


def test_an_exception_is_named_by_its_type_and_frames_only_outside_development():
    try:
        raise ValueError("SELECT password_hash FROM users WHERE email = 'a@b.co'")
    except ValueError as error:
        line = JsonFormatter(with_traceback=False).format(_record("Unhandled error", exc=error))
        raised_at = error.__traceback__.tb_lineno

    assert json.loads(line)["error"] == "ValueError"
    assert json.loads(line)["traceback"] == [
        "tests.security.test_logs:"
        f"test_an_exception_is_named_by_its_type_and_frames_only_outside_development:{raised_at}"
    ]
    assert "SELECT" not in line
    assert "Traceback" not in line
    assert ".py" not in line
