"""TOTP codes at real time steps, as an authenticator app makes them (pyotp, unpatched).

The service accepts one step of drift either way and never the same step twice, so one
test can use the codes of the previous, the current and the next step, in that order,
without waiting for the clock. Codes are made away from a step boundary, so that the step
they were made in is still current when the service checks them.
"""

import time
from collections.abc import Iterator

import pyotp

PERIOD = 30
MARGIN_SECONDS = 3


def codes_in_order(secret: str) -> Iterator[str]:
    """The codes of the previous, current and next step, each usable once, in this order."""
    totp = pyotp.TOTP(secret)
    seconds_into_step = time.time() % PERIOD
    if seconds_into_step > PERIOD - MARGIN_SECONDS:
        time.sleep(PERIOD - seconds_into_step + 0.1)
    now = time.time()
    for offset in (-PERIOD, 0, PERIOD):
        yield totp.at(now + offset)


def wrong_code(secret: str) -> str:
    """Six digits that are the code of no step within the drift."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(time.time() + offset) for offset in (-PERIOD, 0, PERIOD)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in valid)
