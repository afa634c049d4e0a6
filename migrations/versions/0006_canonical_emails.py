"""Emails in one canonical form: one mailbox, one account.

Every stored address is folded (NFKC, trimmed, lower-cased) and, when email-validator accepts
it, its domain put in IDNA (ASCII) form, as app/core/identities.py now stores new ones. Rows
that would then share an address are reported and the upgrade refused, so no account is
silently merged or locked out: an operator resolves them (renames or deletes one of each
group), then runs `flask db upgrade` again. Addresses email-validator refuses (a quoted local
part, an invisible character) are reported and kept as they are; their owners still log in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:00:00

"""

import sys
import unicodedata
from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError
from email_validator import validate_email

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_users = sa.table("users", sa.column("id", sa.Integer()), sa.column("email", sa.String()))
_whitelist = sa.table(
    "admin_whitelist", sa.column("id", sa.Integer()), sa.column("email", sa.String())
)


class EmailCollisionError(RuntimeError):
    pass


def canonical(email):
    """The address as stored from now on, or None when email-validator refuses it."""
    folded = unicodedata.normalize("NFKC", email).strip().lower()
    try:
        valid = validate_email(folded, check_deliverability=False, allow_quoted_local=False)
    except EmailNotValidError:
        return None
    return f"{valid.local_part}@{valid.ascii_domain}"


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(_users.c.id, _users.c.email).order_by(_users.c.id)).all()
    groups = defaultdict(list)
    refused = []
    for user_id, email in rows:
        form = canonical(email)
        if form is None:
            refused.append(user_id)
            form = unicodedata.normalize("NFKC", email).strip().lower()
        groups[form].append((user_id, email))
    collisions = {form: members for form, members in groups.items() if len(members) > 1}
    if refused:
        print(
            f"0006: {len(refused)} account(s) keep an address email-validator refuses "
            f"(user ids {', '.join(map(str, refused))}); they can still log in.",
            file=sys.stderr,
        )
    if collisions:
        raise EmailCollisionError(_collision_report(collisions))
    for form, [(user_id, email)] in groups.items():
        if form != email:
            connection.execute(_users.update().where(_users.c.id == user_id).values(email=form))
    _canonical_whitelist(connection)


def _collision_report(collisions):
    lines = [
        f"0006 refused: {len(collisions)} group(s) of accounts would share one mailbox under "
        "the new email rule. Rename or delete all but one account of each group, then run "
        "`flask db upgrade` again:"
    ]
    for form, members in sorted(collisions.items()):
        ids = ", ".join(f"{user_id} ({email!r})" for user_id, email in members)
        lines.append(f"  {form}: user ids {ids}")
    return "\n".join(lines)


def _canonical_whitelist(connection):
    """Whitelist entries that fold into one mean the same address: keep the first."""
    seen = set()
    rows = connection.execute(
        sa.select(_whitelist.c.id, _whitelist.c.email).order_by(_whitelist.c.id)
    ).all()
    for entry_id, email in rows:
        form = canonical(email) or email
        if form in seen:
            connection.execute(_whitelist.delete().where(_whitelist.c.id == entry_id))
            continue
        seen.add(form)
        if form != email:
            connection.execute(
                _whitelist.update().where(_whitelist.c.id == entry_id).values(email=form)
            )


def downgrade():
    """The canonical forms stay: they are valid addresses under the earlier rule too."""
