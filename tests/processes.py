"""Running the service's own entry points in child processes, as an operator would."""

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_flask(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app wsgi ARGS`` in the project root with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
