"""Driving the consoles' pages in Chromium: what every page must pass (axe-core, its CSP)
and its screenshots at desktop and phone width in build/pages/."""

from typing import Any

from tests.processes import ROOT

SHOTS = ROOT / "build" / "pages"
AXE = ROOT / "tests" / "pages" / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# What axe-core is asked to hold each page to.
AXE_RULES = "{runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}"


class Pages:
    """One browser tab on the pages, with what each page must pass; ``prefix`` names its
    screenshots (admin-users-phone.png)."""

    def __init__(self, page: Any, server_url: str, *, prefix: str = "admin") -> None:
        self.page = page
        self.url = server_url
        self.prefix = prefix
        self.csp_violations: list[str] = []
        page.on("console", self._watch_console)

    def _watch_console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def check(self, name: str) -> None:
        """No serious or critical axe-core violation; screenshots at both widths."""
        # Each page says when its first load is done (main's aria-busy).
        self.page.locator("main[aria-busy=false]").wait_for()
        found = self.page.evaluate(
            f"async () => (await axe.run(document, {AXE_RULES})).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert found == [], f"{name}: {found}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            # Readable at the width: nothing makes the page itself scroll sideways (a wide
            # table scrolls in its own box).
            page_width = self.page.evaluate("document.documentElement.scrollWidth")
            assert page_width <= size["width"], f"{name} is {page_width} px wide at {width}"
            shot = SHOTS / f"{self.prefix}-{name}-{width}.png"
            self.page.screenshot(path=shot, full_page=True)
        self.page.set_viewport_size(DESKTOP)

    def confirm(self, action: str, expected_status: str) -> None:
        """Click ``action``, confirm it in the dialog, wait for the news."""
        self.page.get_by_role("button", name=action, exact=True).first.click()
        dialog = self.page.get_by_role("dialog")
        dialog.get_by_role("button", name=action, exact=True).click()
        self.page.get_by_role("status").filter(has_text=expected_status).wait_for()
