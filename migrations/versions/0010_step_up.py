"""Step-up: each session's latest proof of who holds it (when, how, and when with a second
factor); sessions opened before this release count their login as that proof. And the
second-factor codes that failed in a row, which lock an account's second step. And accounts
without an address: an OpenID provider's unverified address no longer claims one, so the
addresses that accounts made that way hold are released for their mailboxes' owners.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Made by an OpenID sign-in (no usable password, an identity) with an address the provider
# did not verify, and never verified here.
_UNPROVEN_PROVIDER_ACCOUNT = (
    "email_verified_at IS NULL AND password_hash LIKE '!%' AND EXISTS "
    "(SELECT 1 FROM oidc_identities WHERE oidc_identities.user_id = users.id)"
)
_SECOND_FACTOR = "amr LIKE '%otp%' OR amr LIKE '%hwk%' OR amr LIKE '%swk%' OR amr LIKE '%mfa%'"


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("mfa_failures", sa.Integer(), server_default="0", nullable=False)
        )
        batch.alter_column("email", existing_type=sa.String(length=254), nullable=True)
    op.execute(f"UPDATE users SET email = NULL WHERE {_UNPROVEN_PROVIDER_ACCOUNT}")
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("auth_methods", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sessions SET auth_time = created_at, auth_methods = COALESCE(amr, 'pwd')")
    op.execute(f"UPDATE sessions SET second_factor_at = created_at WHERE {_SECOND_FACTOR}")
    with op.batch_alter_table("sessions") as batch:
        batch.alter_column("auth_time", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column("auth_methods", existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("second_factor_at")
        batch.drop_column("auth_methods")
        batch.drop_column("auth_time")
    # An address for every account again: a placeholder that can never be delivered to.
    op.execute("UPDATE users SET email = 'no-address-' || id || '@invalid' WHERE email IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("email", existing_type=sa.String(length=254), nullable=False)
        batch.drop_column("mfa_failures")
