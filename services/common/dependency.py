"""Errors that mean "this service is fine; something it needs is not"."""

from __future__ import annotations


class DependencyUnavailable(Exception):
    """A store or service this one needs cannot take the call now (answered UNAVAILABLE).

    The answering instance is healthy, so its callers fail over and retry as usual but do
    not count the answer towards its breaker: during a database failover every instance
    says so at once, and opened breakers would outlast the failover (they did, by 10 s).
    """


# The trailing metadata an UNAVAILABLE answer carries when a dependency caused it.
DEPENDENCY_TRAILER = ("fitness-unavailable", "dependency")
