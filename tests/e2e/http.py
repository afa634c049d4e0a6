"""Plain HTTP calls for the end-to-end tests: no cookie jar, always a timeout."""

import threading
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import requests

from tests.totp_codes import codes_in_order

TIMEOUT_SECONDS = 30


def get(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("GET", url, timeout=TIMEOUT_SECONDS, **kwargs)


def post(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("POST", url, timeout=TIMEOUT_SECONDS, **kwargs)


def patch(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("PATCH", url, timeout=TIMEOUT_SECONDS, **kwargs)


def delete(url: str, **kwargs: Any) -> requests.Response:
    return requests.request("DELETE", url, timeout=TIMEOUT_SECONDS, **kwargs)


def call(
    method: str, url: str, body: dict | None = None, *, token: str = "", status: int = 200
) -> dict:
    """The JSON answer of one call (with ``token`` as the bearer), which must be ``status``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(
        method.upper(), url, json=body, headers=headers, timeout=TIMEOUT_SECONDS
    )
    assert response.status_code == status, response.text
    return response.json()


def enable_totp(api: str, token: str, password: str) -> tuple[str, Iterator[str]]:
    """Turn on TOTP for the token's account (``api``: the blog's /api/v1/auth): the new
    authenticator's secret, and its codes not yet spent."""
    secret = call("post", f"{api}/mfa/totp", {"password": password}, token=token)["secret"]
    codes = codes_in_order(secret)
    call("post", f"{api}/mfa/totp/confirm", {"code": next(codes)}, token=token)
    return secret, codes


def at_once(count: int, send: Callable[[], requests.Response]) -> list[requests.Response]:
    """``count`` calls of ``send`` released together from their own threads, as many clients
    (or one client's retries) hit the service in the same instant; their answers."""
    barrier = threading.Barrier(count)
    results: list[requests.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        response = send()
        with lock:
            results.append(response)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
