"""The tables, as the code reads and writes them (the migrations create them).

Slack's three tables keep the shapes slack_sdk's SQLAlchemy stores read and write, except that
token columns are TEXT: the tokens are stored encrypted, longer than slack_sdk's 200 characters.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, func

metadata = MetaData()

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
OAUTH_STATES = "slack_oauth_states"

team_accounts = Table(
    "team_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # The Truto tenant the account was connected for: the team id, or the Grid org's id for an
    # org-wide install (see bot/domain/tenants.py).
    Column("tenant_id", String(64), nullable=False, index=True),
    Column("integrated_account_id", String(128), nullable=False, unique=True),
    Column("integration", String(80), nullable=False, server_default=""),
    Column("label", String(120), nullable=False, server_default=""),
    Column("status", String(40), nullable=False, server_default="active"),
    Column("last_error", Text),
    Column("connected_by", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

workspace_settings = Table(
    "workspace_settings",
    metadata,
    Column("tenant_id", String(64), primary_key=True),
    Column("data", Text, nullable=False),  # WorkspaceSettings as JSON
    Column("updated_by", String(32)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A person's own connection (`/ticket connect`): their integrated account, for the workspace's
# shared account of the same tool. Not a secret (an id); the person and workspace it belongs to.
personal_connections = Table(
    "personal_connections",
    metadata,
    Column("integrated_account_id", String(128), primary_key=True),
    Column("tenant_id", String(64), nullable=False),
    Column("slack_user_id", String(32), nullable=False),
    Column("shared_account_id", String(128), nullable=False),
    Column("integration", String(80), nullable=False, server_default=""),
    Column("status", String(40), nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("personal_connections_person", "tenant_id", "slack_user_id", "shared_account_id"),
)
