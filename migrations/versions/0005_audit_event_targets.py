"""Audit events record whom an admin action changed, so ?user= finds them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_events = sa.table(
    "auth_events",
    sa.column("id", sa.Integer()),
    sa.column("event", sa.String()),
    sa.column("details", sa.JSON()),
    sa.column("target_user_id", sa.Integer()),
)


def upgrade():
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target_user_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_auth_events_target_user_id"), ["target_user_id"], unique=False
        )
    # Earlier events kept the target in their details only.
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_events.c.id, _events.c.details).where(
            _events.c.event.in_(["user_updated", "user_deleted"])
        )
    ).all()
    for event_id, details in rows:
        target = (details or {}).get("target_user_id")
        if isinstance(target, int):
            connection.execute(
                _events.update().where(_events.c.id == event_id).values(target_user_id=target)
            )


def downgrade():
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_events_target_user_id"))
        batch_op.drop_column("target_user_id")
