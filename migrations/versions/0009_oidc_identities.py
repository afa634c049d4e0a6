"""OpenID sign-in: identities linked to users, the one-time proofs already spent, and the
first factor of a login waiting for its second step.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 01:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oidc_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject"),
    )
    op.create_index(op.f("ix_oidc_identities_user_id"), "oidc_identities", ["user_id"])
    op.create_table(
        "oidc_spent_proofs",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index(op.f("ix_oidc_spent_proofs_expires_at"), "oidc_spent_proofs", ["expires_at"])
    with op.batch_alter_table("mfa_challenges") as batch:
        batch.add_column(
            sa.Column("first_factor", sa.String(length=8), server_default="pwd", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("mfa_challenges") as batch:
        batch.drop_column("first_factor")
    op.drop_index(op.f("ix_oidc_spent_proofs_expires_at"), table_name="oidc_spent_proofs")
    op.drop_table("oidc_spent_proofs")
    op.drop_index(op.f("ix_oidc_identities_user_id"), table_name="oidc_identities")
    op.drop_table("oidc_identities")
