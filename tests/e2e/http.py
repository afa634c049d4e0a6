"""Plain HTTP calls for the end-to-end tests: no cookie jar, always a timeout."""

from typing import Any

import requests

TIMEOUT_SECONDS = 30


def get(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("GET", url, timeout=TIMEOUT_SECONDS, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("POST", url, timeout=TIMEOUT_SECONDS, **kwargs)


def patch(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("PATCH", url, timeout=TIMEOUT_SECONDS, **kwargs)


def delete(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("DELETE", url, timeout=TIMEOUT_SECONDS, **kwargs)
