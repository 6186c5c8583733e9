"""The edge: what every request passes.

Errors, auth, middleware, idempotency, rate limits, metrics and health.
"""
