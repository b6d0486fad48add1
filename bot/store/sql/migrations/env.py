"""Alembic's environment: migrations run on the connection `Database.upgrade` hands in (an async
engine's connection, run synchronously inside it), never on one of their own."""

from __future__ import annotations

from alembic import context

from bot.store.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with `ticketbot db upgrade` (it hands them the connection)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
