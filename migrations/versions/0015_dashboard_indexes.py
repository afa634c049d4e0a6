"""The dashboard's counts stay fast at millions of audit rows: events are found by kind and
time with their outcome in the same index (it replaces the index on the kind alone, so
writing an event maintains as many indexes as before), and users by when they were made.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:40:00

"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("auth_events") as batch:
        batch.drop_index("ix_auth_events_event")
        batch.create_index(
            "ix_auth_events_event_time", ["event", "occurred_at", "outcome"], unique=False
        )
    with op.batch_alter_table("users") as batch:
        batch.create_index("ix_users_created_at", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_created_at")
    with op.batch_alter_table("auth_events") as batch:
        batch.drop_index("ix_auth_events_event_time")
        batch.create_index("ix_auth_events_event", ["event"], unique=False)
