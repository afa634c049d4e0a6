"""Bounds of the values the service stores and accepts."""

# The largest value an Integer column holds on every backend; ids beyond it cannot exist.
MAX_INTEGER = 2_147_483_647
