"""bench/user_import.py, run briefly so that it keeps working: both files import through the
real CLI (the script stops on a failed import). No figure is judged."""

from bench.user_import import measure


def test_the_import_benchmark_imports_both_files():
    figures = measure("sqlite", users=12, weak=1, postgres_url=None, pool=1)

    assert set(figures) == {
        "strong_seconds",
        "strong_per_second",
        "weak_seconds",
        "weak_per_second",
    }
    assert all(value > 0 for value in figures.values())
