"""Alembic environment: migrates the connection handed over by services.common.db.migrate."""

from alembic import context

connection = context.config.attributes["connection"]
# Its own version table, so the warehouse may live in a database shared with other things.
context.configure(connection=connection, version_table="etl_alembic_version")
with context.begin_transaction():
    context.run_migrations()
