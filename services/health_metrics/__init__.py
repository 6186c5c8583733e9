"""Intraday health metrics: points, incremental 1m/1h/1d rollups, sleep, daily summaries."""
