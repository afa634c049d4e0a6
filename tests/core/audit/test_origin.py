"""Where a request comes from, as the audit log and the session list keep it: the user agent
cleaned for display, and the platform it names."""

import pytest
from flask import Flask

from app.core.audit.origin import current_client
from app.core.audit.origin import platform_of

SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


def _client_of(user_agent: str):
    app = Flask(__name__)
    with app.test_request_context(headers={"User-Agent": user_agent}):
        return current_client()


def test_a_printable_user_agent_is_kept_as_sent():
    assert _client_of(SAFARI).user_agent == SAFARI


def test_control_characters_are_dropped_and_the_rest_kept():
    assert _client_of("Evil\tAgent\x7f/1.0").user_agent == "EvilAgent/1.0"


def test_a_long_user_agent_is_cut_at_512_characters():
    assert _client_of("A" * 600).user_agent == "A" * 512


def test_an_empty_user_agent_is_none():
    assert _client_of("").user_agent is None


@pytest.mark.parametrize(
    ("user_agent", "platform"),
    [
        (SAFARI, "macOS 10.15"),
        ("Notes/3.1 CFNetwork/1494.0.7 Darwin/23.4.0", "iOS 17.4"),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0", "Android 14"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0", "Windows 10"),
        ("okhttp/4.12.0", None),
        ("curl/8.5.0", None),
        (None, None),
    ],
)
def test_the_platform_is_read_from_the_user_agent(user_agent, platform):
    assert platform_of(user_agent) == platform
