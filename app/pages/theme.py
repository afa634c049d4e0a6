"""What an operator may change of the pages without touching a template: the product's
name, its logo and its colours (AUTH_PAGES_*), checked at startup."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.core.configuration import ConfigurationError

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Theme:
    product_name: str
    logo_url: str | None
    primary_colour: str
    text_colour: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Theme":
        theme = cls(
            product_name=str(config["AUTH_PAGES_PRODUCT_NAME"]).strip() or "authsvc",
            logo_url=config["AUTH_PAGES_LOGO_URL"] or None,
            primary_colour=config["AUTH_PAGES_PRIMARY_COLOR"],
            text_colour=config["AUTH_PAGES_TEXT_COLOR"],
        )
        for name, value in (
            ("AUTH_PAGES_PRIMARY_COLOR", theme.primary_colour),
            ("AUTH_PAGES_TEXT_COLOR", theme.text_colour),
        ):
            if not _COLOUR.match(value):
                raise ConfigurationError(f"{name} must be a colour like #1f5fbf, not {value!r}")
        if theme.logo_url is not None and not _is_page_safe_url(theme.logo_url):
            raise ConfigurationError(
                "AUTH_PAGES_LOGO_URL must be a path on this service (/...) or an https URL"
            )
        return theme

    @property
    def image_sources(self) -> str:
        """CSP img-src: this origin, data: (the TOTP QR code) and the logo's origin."""
        sources = ["'self'", "data:"]
        if self.logo_url and self.logo_url.startswith("https://"):
            parts = urlsplit(self.logo_url)
            sources.append(f"https://{parts.netloc}")
        return " ".join(sources)


def _is_page_safe_url(url: str) -> bool:
    if url.startswith("/") and not url.startswith("//"):
        return True
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc) and not any(c in url for c in "\"' ")
