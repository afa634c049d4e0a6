"""``flask --app wsgi keys generate|list``: signing key pairs for RS256, ES256 and EdDSA.

``generate`` needs no configuration, so it also runs before the service can start:
``python -m app keys generate --algorithm ES256`` (a production service with an asymmetric
JWT_ALGORITHM and no key refuses to start, and with it the ``flask`` command).
"""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.core.configuration import write_new_file
from app.core.tokens.keys import ASYMMETRIC_ALGORITHMS
from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import key_set
from app.core.tokens.keys import private_pem
from app.core.tokens.keys import public_key_entry
from app.core.tokens.keys import public_pem

keys_cli = AppGroup("keys", help="Signing keys: make a key pair, list the keys in use.")


@keys_cli.command("generate", with_appcontext=False)
@click.option("--algorithm", type=click.Choice(ASYMMETRIC_ALGORITHMS), required=True)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("instance/keys"),
    show_default=True,
    help="Where to write the pair; made with mode 0700 if missing.",
)
def generate_keys(algorithm: str, directory: Path) -> None:
    """Write a new key pair: private-<kid>.pem (mode 0600) and public-<kid>.pem.

    Prints one JSON object: kid, algorithm, privateKeyFile, publicKeyFile.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_key = generate_private_key(algorithm)
    kid = public_key_entry(private_key.public_key()).kid
    private_file, public_file = directory / f"private-{kid}.pem", directory / f"public-{kid}.pem"
    write_new_file(private_file, private_pem(private_key), mode=0o600)
    write_new_file(public_file, public_pem(private_key), mode=0o644)
    click.echo(
        json.dumps(
            {
                "kid": kid,
                "algorithm": algorithm,
                "privateKeyFile": str(private_file),
                "publicKeyFile": str(public_file),
            }
        )
    )


@keys_cli.command("list")
def list_keys() -> None:
    """One JSON object per key the service accepts: kid, algorithm, and whether it signs."""
    keys = key_set()
    for key in keys.verification.values():
        role = "signing" if key.kid == keys.signing.kid else "verification"
        click.echo(json.dumps({"kid": key.kid, "algorithm": key.algorithm, "use": role}))
    if current_app.config["JWT_ISSUER"] or current_app.config["JWT_AUDIENCE"]:
        click.echo(
            json.dumps(
                {
                    "issuer": current_app.config["JWT_ISSUER"],
                    "audience": current_app.config["JWT_AUDIENCE"],
                }
            )
        )
