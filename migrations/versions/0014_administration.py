"""Administration: when each user last signed in (the admin's user list shows it), and when
which key of an API client is its current one (tokens minted with an earlier one stop
working when the key is replaced).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 20:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(
            sa.Column("key_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade():
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("key_version")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_sign_in_at")
