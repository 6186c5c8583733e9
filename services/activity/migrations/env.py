"""Alembic environment: migrates the connection handed over by services.common.db.migrate."""

from alembic import context

from services.activity.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
