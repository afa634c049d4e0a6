"""``flask --app wsgi users import|export``: accounts in and out as JSON Lines, with the
password hashes of their system (docs/importing-users.md)."""

import os
import secrets
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import click
from flask.cli import with_appcontext

from app.core.accounts import user_import


@click.command("import")
@with_appcontext
@click.argument("source", type=click.File("r", encoding="utf-8", lazy=False))
@click.option("--update", is_flag=True, help="Update accounts whose email is already here.")
@click.option("--skip-invalid", is_flag=True, help="Import the good lines, report the rest.")
@click.option("--dry-run", is_flag=True, help="Check the file; write nothing.")
def import_users(source: TextIO, update: bool, skip_invalid: bool, dry_run: bool) -> None:
    """Import accounts from SOURCE, JSON Lines with the password hashes of their old system
    (``-`` for stdin). One bad line refuses the whole file unless --skip-invalid."""
    name = Path(source.name).name
    options = user_import.ImportOptions(
        source=name, update=update, skip_invalid=skip_invalid, dry_run=dry_run
    )
    started = time.monotonic()
    with _progress_bar(source) as (lines, advance):
        try:
            report = user_import.import_users(lines, options, progress=advance)
        except user_import.ImportRefused as refused:
            _print_problems(refused.report)
            raise click.ClickException(
                f"{refused.reason}: nothing was imported"
                + (" (--skip-invalid imports the rest)." if refused.report.problems else ".")
            ) from None
    _print_problems(report)
    click.echo(_import_summary(report, name, time.monotonic() - started, dry_run=dry_run))


@click.command("export")
@with_appcontext
@click.argument("target", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Replace TARGET if it exists.")
def export_users(target: str, force: bool) -> None:
    """Write every account to TARGET as JSON Lines, with its password hash (mode 0600)."""
    click.echo(
        "Warning: the file holds password hashes. Keep it like a secret and delete it after use.",
        err=True,
    )
    if target == "-":
        count = user_import.export_users(sys.stdout.write)
    else:
        try:
            with _private_file(Path(target), replace=force) as out:
                count = user_import.export_users(out.write)
        except FileExistsError:
            raise click.ClickException(f"{target} exists; --force replaces it.") from None
    click.echo(f"Exported {count} users to {target}.", err=True)


@contextmanager
def _private_file(path: Path, *, replace: bool) -> Iterator[TextIO]:
    """A file at ``path`` only its owner may read, written in full before it appears there.

    The data goes to a new file beside it, created with mode 0600 and refusing to follow a
    link or reuse a file someone else made (O_EXCL | O_NOFOLLOW); then that file takes the
    path's place in one step: a new link (which fails if the path exists), or with
    ``replace`` a rename over it (which replaces a symbolic link itself, never its target)."""
    if not replace and os.path.lexists(path):
        raise FileExistsError(path)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        with open(os.open(staged, flags, 0o600), "w", encoding="utf-8") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(staged, path)
        else:
            os.link(staged, path)
    finally:
        if os.path.lexists(staged):
            os.unlink(staged)


@contextmanager
def _progress_bar(source: TextIO) -> Iterator[tuple[Iterator[str], Callable[[int], None]]]:
    """The file's lines, and a bar of lines read on a terminal (when the size is known)."""
    total = _line_count(source) if sys.stderr.isatty() else None
    if total is None:
        yield iter(source), lambda _count: None
        return
    with click.progressbar(length=total, label="Importing", file=sys.stderr) as bar:
        yield iter(source), bar.update


def _line_count(source: TextIO) -> int | None:
    if not source.seekable():
        return None
    total = sum(1 for _ in source)
    source.seek(0)
    return total


def _print_problems(report: user_import.ImportReport) -> None:
    for problem in report.problems:
        click.echo(str(problem), err=True)


def _import_summary(
    report: user_import.ImportReport, name: str, seconds: float, *, dry_run: bool
) -> str:
    verb = "Would import" if dry_run else "Imported"
    kept = f", kept {report.kept_passwords} passwords set here" if report.kept_passwords else ""
    return (
        f"{verb} {report.created} users from {name} in {seconds:.1f} s: "
        f"{report.updated} updated{kept}, {report.skipped} already here, "
        f"{report.invalid_lines} invalid lines"
        + (" (dry run: nothing written)." if dry_run else ".")
    )
