"""The example SPA in a real browser: registering an account from it, and the round both
proxy tests walk (register, reload: the refresh cookie signs the page back in, log out)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpaRound:
    # Statuses of the SPA's refresh-token calls, in order.
    refreshes: list[int]
    logout_status: int


def register_in_spa(page: Any, spa_url: str, email: str, password: str) -> None:
    """Open the SPA, register ``email`` with its form, and wait until the page is signed in."""
    status = page.locator("#status")
    page.goto(spa_url)
    status.filter(has_text="Logged out").wait_for()
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#register")
    status.filter(has_text=f"Logged in as {email}").wait_for()


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

    register_in_spa(page, spa_url, email, password)
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
