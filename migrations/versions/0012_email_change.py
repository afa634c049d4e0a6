"""Email change: a mailed token that proves a new address carries that address, so the
address the account asked for is the one its confirmation sets.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("account_tokens") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table("account_tokens") as batch:
        batch.drop_column("email")
