"""People's own connections to their workspace's tracker (`/ticket connect`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "personal_connections",
        sa.Column("integrated_account_id", sa.String(128), primary_key=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("slack_user_id", sa.String(32), nullable=False),
        sa.Column("shared_account_id", sa.String(128), nullable=False),
        sa.Column("integration", sa.String(80), nullable=False, server_default=""),
        sa.Column("status", sa.String(40), nullable=False, server_default="active"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index(
        "personal_connections_person",
        "personal_connections",
        ["tenant_id", "slack_user_id", "shared_account_id"],
    )


def downgrade() -> None:
    op.drop_index("personal_connections_person", table_name="personal_connections")
    op.drop_table("personal_connections")
