"""Sessions get an absolute expiry that no refresh can slide past.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:12:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("absolute_expires_at", sa.DateTime(timezone=True)))
    # Sessions from before the cap end no later than they would have anyway.
    op.execute("UPDATE sessions SET absolute_expires_at = expires_at")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column(
            "absolute_expires_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade():
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("absolute_expires_at")
