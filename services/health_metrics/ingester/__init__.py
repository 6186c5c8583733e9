"""The simulated-device ingester: ``python -m services.health_metrics.ingester``.

Every interval it stores, for each user with a linked simulated device, the next simulated
day (``services.health_metrics.simulator``) after the last one the store records for the
user, then records that day. A day is written in batches and marked only once all of it is
stored: a restart re-simulates the unmarked day identically, and the upserts change
nothing that was already there.
"""
