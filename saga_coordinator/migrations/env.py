"""Alembic environment: migrates the connection handed over by services.common.db.migrate."""

from alembic import context

from saga_coordinator.log import metadata

connection = context.config.attributes["connection"]
# Its own version table, so the saga log can share a database with the user service.
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    version_table="saga_alembic_version",
)
with context.begin_transaction():
    context.run_migrations()
