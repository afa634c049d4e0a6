"""Marshmallow fields shared by the dialects."""

from datetime import UTC
from datetime import datetime
from typing import Any

from marshmallow import fields


class Timestamp(fields.Field):
    """An aware datetime as the documents write it: ``2024-01-15T10:30:00.000Z``."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
