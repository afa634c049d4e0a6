"""bench/boundary.py, run briefly so that it keeps working: both doors answer 200 for the
seeded user's token (the script asserts it) and each gets a figure. No figure is judged."""

from bench.boundary import measure


def test_the_boundary_benchmark_times_both_doors(tmp_path):
    figures = measure(f"sqlite:///{tmp_path / 'boundary.db'}", requests=2)

    assert set(figures) == {"service guard (/auth/me)", "@jwt_required() + current_user"}
    assert all(micros > 0 for micros in figures.values())
