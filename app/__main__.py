"""``python -m app keys generate ...``: the commands that run without a configured service."""

import click

from app.keys_cli import keys_cli

standalone = click.Group(commands=[keys_cli], help="authsvc commands that need no configuration.")

if __name__ == "__main__":
    standalone()
