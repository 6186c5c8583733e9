"""Monitoring of the platform: Prometheus' scrape configuration and Grafana's dashboards.

Both are generated from code and committed (``python -m deploy.monitoring.prometheus``,
``python -m deploy.monitoring.dashboards``); docker-compose.yml mounts them, and
docs/operations.md ("Monitoring") says how to open them.
"""
