"""Mail that is never lost: an outbox table written in the transaction that causes a mail,
and each account's language for its mails.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 06:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=40), nullable=True),
        sa.Column("template", sa.String(length=40), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=True),
        sa.Column("locale", sa.String(length=35), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=100), nullable=True),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["state", "next_attempt_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=35), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locale")
    op.drop_index("ix_mail_outbox_due", table_name="mail_outbox")
    op.drop_table("mail_outbox")
