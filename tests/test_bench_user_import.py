"""bench/user_import.py, run briefly so that it keeps working: its file of every strong format
imports through the real CLI (the script stops on a failed import; the wrapped SHA-256 path
is tested in tests/test_users_import.py). No figure is judged."""

from bench.user_import import measure


def test_the_import_benchmark_imports_its_file():
    figures = measure("sqlite", users=12, weak=0, postgres_url=None, pool=1)

    assert set(figures) == {"strong_seconds", "strong_per_second"}
    assert all(value > 0 for value in figures.values())
