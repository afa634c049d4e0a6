"""Sessions know their device: whether a browser (the refresh cookie) or a native app (the
refresh token in the body) opened them, and the name the app gave its device. A login
waiting for its second step keeps that name until the session opens.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("client_type", sa.String(16), nullable=False, server_default="browser")
        )
        batch.add_column(sa.Column("device_name", sa.String(100), nullable=True))
    with op.batch_alter_table("mfa_challenges") as batch:
        batch.add_column(sa.Column("device_name", sa.String(100), nullable=True))


def downgrade():
    with op.batch_alter_table("mfa_challenges") as batch:
        batch.drop_column("device_name")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("device_name")
        batch.drop_column("client_type")
