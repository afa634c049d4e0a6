"""Marshmallow fields shared by the dialects."""

from datetime import UTC
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from marshmallow import fields

from app.core.passwords.passwords import max_length


class Timestamp(fields.Field):
    """An aware datetime as the documents write it: ``2024-01-15T10:30:00.000Z``."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class JsonBoolean(fields.Boolean):
    """JSON's true or false only: ``0``, ``1`` and ``"false"`` are refused, not guessed at
    (``"false"`` read as true would activate an account)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Password(fields.String):
    """A password as sent. One longer than AUTH_PASSWORD_MAX_LENGTH is refused here, before
    any hashing work is spent on it; the rest of the policy is the core's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(load_only=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        password = super()._deserialize(value, attr, data, **kwargs)
        if len(password) > max_length():
            raise ValidationError(f"Longer than maximum length {max_length()}.")
        return password


class AccountEmail(fields.String):
    """A user's address as dumped: null for an account that an OpenID provider made without
    verifying the address it gave (the address is then not the account's)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "metadata",
            {"description": "null: an account an OpenID provider made without a verified address"},
        )
        super().__init__(allow_none=True, **kwargs)


class DeviceName(fields.String):
    """The name a native app gives its device ("Ada's iPhone"), shown in the session list:
    1 to 100 printable characters, trimmed."""

    MAX_LENGTH = 100

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {"description": "Shown in the session list (native apps)"})
        super().__init__(load_default=None, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip()
        if not name or len(name) > self.MAX_LENGTH:
            raise ValidationError(f"Length must be between 1 and {self.MAX_LENGTH}.")
        if not name.isprintable():
            raise ValidationError("Must not contain control characters.")
        return name
