"""TOTP (RFC 6238, with pyotp): SHA-1, 6 digits, 30-second steps, one step of drift either way.

An enrolment starts unconfirmed and is on once a first code confirms it. A code is accepted
by one conditional UPDATE that moves the factor's last used step forward, so a code that has
worked once never works again for the account, even when two requests bring it at once.
The secret is stored sealed (app/core/secret_box.py).
"""

import io
from dataclasses import dataclass

import pyotp
import segno
from flask import current_app
from sqlalchemy import ColumnElement
from sqlalchemy import Exists
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.core.errors import TotpUnavailableError
from app.core.models import TotpFactor
from app.core.secret_box import secret_box
from app.database import db
from app.database import rows_changed

DIGITS = 6
PERIOD_SECONDS = 30
DRIFT_STEPS = 1


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def start_enrolment(*, user_id: int, account_name: str) -> Enrolment:
    """A new secret for the user, unconfirmed (the caller commits); an earlier unconfirmed one
    is replaced. The caller has checked that TOTP is not already on."""
    _require_enabled()
    secret = pyotp.random_base32()
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))
    db.session.add(TotpFactor(user_id=user_id, sealed_secret=secret_box().seal(secret)))
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS).provisioning_uri(
        name=account_name, issuer_name=current_app.config["AUTH_TOTP_ISSUER"]
    )
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=_qr_svg(uri))


def is_on(*, user_id: int) -> bool:
    return bool(db.session.scalar(select(factor_exists(user_id=user_id, confirmed=True))))


def has_pending_enrolment(*, user_id: int) -> bool:
    return bool(db.session.scalar(select(factor_exists(user_id=user_id, confirmed=False))))


def factor_exists(*, user_id: int, confirmed: bool) -> Exists:
    """Whether the user has a confirmed (on) or a pending TOTP factor, as a SQL expression a
    caller can fold into a statement of its own."""
    return exists().where(TotpFactor.user_id == user_id, _confirmed_is(confirmed))


def confirm(*, user_id: int, code: str) -> bool:
    """Whether ``code`` confirms the user's pending enrolment, which is then on (the caller
    commits)."""
    return _accept(user_id=user_id, code=code, confirmed=False)


def spend_code(*, user_id: int, code: str) -> bool:
    """Whether ``code`` is a valid code of the user's TOTP, not used before (the caller
    commits)."""
    return _accept(user_id=user_id, code=code, confirmed=True)


def reseal_all() -> int:
    """Seal every stored secret again with the first encryption key; how many."""
    box = secret_box()
    factors = db.session.scalars(select(TotpFactor)).all()
    for factor in factors:
        factor.sealed_secret = box.reseal(factor.sealed_secret)
    db.session.commit()
    return len(factors)


def remove(*, user_id: int) -> None:
    """The caller commits."""
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user_id))


def _accept(*, user_id: int, code: str, confirmed: bool) -> bool:
    _require_enabled()
    if not (isinstance(code, str) and len(code) == DIGITS and code.isascii() and code.isdigit()):
        return False
    sealed = db.session.scalar(
        select(TotpFactor.sealed_secret).where(
            TotpFactor.user_id == user_id, _confirmed_is(confirmed)
        )
    )
    if sealed is None:
        return False
    step = _matching_step(secret_box().open(sealed), code)
    if step is None:
        return False
    values: dict[str, object] = {"last_used_step": step}
    if not confirmed:
        values["confirmed_at"] = clock.utcnow()
    moved = rows_changed(
        update(TotpFactor)
        .where(
            TotpFactor.user_id == user_id,
            _confirmed_is(confirmed),
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return moved == 1


def _matching_step(secret: str, code: str) -> int | None:
    """The time step, within the drift allowed, whose code is ``code``."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)
    now = int(clock.utcnow().timestamp()) // PERIOD_SECONDS
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        # pyotp's own comparison is constant-time (hmac.compare_digest).
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)):
            return step
    return None


def _confirmed_is(confirmed: bool) -> ColumnElement[bool]:
    column = TotpFactor.confirmed_at
    return column.is_not(None) if confirmed else column.is_(None)


def _require_enabled() -> None:
    if not current_app.config["AUTH_TOTP_ENABLED"]:
        raise TotpUnavailableError()


def _qr_svg(uri: str) -> str:
    """A standalone SVG document (its namespace declared), shown as an image or inline."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode("utf-8")
