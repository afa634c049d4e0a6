"""The example SPA's round in a real browser, as both the proxy tests walk it: register,
reload (the refresh cookie signs the page back in), log out."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpaRound:
    # Statuses of the SPA's refresh-token calls, in order.
    refreshes: list[int]
    logout_status: int


def register_reload_and_log_out(
    page: Any,
    spa_url: str,
    email: str,
    password: str,
    *,
    signed_in_again: Callable[[], None] = lambda: None,
    reload_after_logout: bool = False,
) -> SpaRound:
    """``signed_in_again`` runs once the reload has signed the page back in."""
    status = page.locator("#status")
    refreshes: list[int] = []
    page.on("response", lambda r: refreshes.append(r.status) if "refresh-token" in r.url
            else None)  # fmt: skip

    page.goto(spa_url)
    status.filter(has_text="Logged out").wait_for()
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#register")
    status.filter(has_text=f"Logged in as {email}").wait_for()
    page.reload()
    status.filter(has_text=f"Logged in as {email}").wait_for()
    signed_in_again()
    with page.expect_response("**/api/v1/auth/logout") as logout:
        page.click("#logout")
    status.filter(has_text="Logged out").wait_for()
    if reload_after_logout:
        page.reload()
        status.filter(has_text="Logged out").wait_for()
    return SpaRound(refreshes=refreshes, logout_status=logout.value.status)
