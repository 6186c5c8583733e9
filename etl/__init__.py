"""Nightly ETL from the services' stores into the PostgreSQL reporting warehouse."""
