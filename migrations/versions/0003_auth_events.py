"""The audit log: one row per auth event.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("dialect", sa.String(length=32), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_events_event"), ["event"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_events_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_events_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_events_user_id"))
        batch_op.drop_index(batch_op.f("ix_auth_events_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_auth_events_event"))
    op.drop_table("auth_events")
