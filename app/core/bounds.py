"""Bounds of the values the service stores and accepts."""

# The largest value an Integer column holds on every backend; ids beyond it cannot exist.
MAX_INTEGER = 2_147_483_647


def can_be_row_id(value: int) -> bool:
    """Whether ``value`` can name a row: a database refuses to compare a column with a number
    beyond its range, so such a value is answered as not found without asking it."""
    return 0 < value <= MAX_INTEGER
