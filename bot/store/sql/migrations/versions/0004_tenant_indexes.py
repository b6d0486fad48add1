"""Indexes that serve "the newest installation of a tenant": slack_sdk's own index is
(client_id, enterprise_id, team_id, installed_at), so a workspace's lookup by team id (after
the enterprise id) scanned every row of the client id, and sorted them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("slack_bots", "slack_installations")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"{table}_team_idx", table, ["client_id", "team_id", "installed_at"])
        op.create_index(f"{table}_org_idx", table, ["client_id", "enterprise_id", "installed_at"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"{table}_org_idx", table_name=table)
        op.drop_index(f"{table}_team_idx", table_name=table)
