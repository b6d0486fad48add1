"""SQL storage (SQLAlchemy 2, async): Slack installations, OAuth state and each workspace's
connected accounts. SQLite by default, PostgreSQL in production; the schema is Alembic's."""
