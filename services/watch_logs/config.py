"""Watch-log service settings, read from WATCH_LOGS_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.tls import TlsFiles


class WatchLogSettings(BaseSettings):
    """Where the watch-log service listens, its Redis, its windows and its injected faults."""

    model_config = SettingsConfigDict(env_prefix="WATCH_LOGS_")

    host: str = "127.0.0.1"
    port: int = 50081
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="redis://host:port/db or redis-cluster://seeds"
    )
    redis_timeout: float = Field(
        2.0, gt=0, description="Connect and reply timeout of one Redis call (no call blocks)"
    )
    partitions: int = Field(16, ge=1, le=1024, description="Partition streams (fixed per store)")
    retention_hours: float = Field(
        7 * 24.0, gt=0, description="Entries older than this (by ingest time) are trimmed"
    )
    max_sample_age_hours: float = Field(
        24.0, gt=0, description="Older samples are refused; also the message-id dedup window"
    )
    max_clock_skew_seconds: float = Field(300.0, ge=0, description="How far ahead a sample may be")
    replicas_to_ack: int = Field(
        0, ge=0, description="Replicas a batch must reach (WAIT) before it is acknowledged"
    )
    replica_ack_timeout_ms: int = Field(200, gt=0, description="How long WAIT may take")
    scan_budget: int = Field(20_000, gt=0, description="Entries one ListLogs page may examine")
    # About what 2 s of the gateway's 3 s deadline can decode and roll up on a busy core.
    aggregate_budget: int = Field(
        200_000, gt=0, description="Entries one AggregateLogs call may examine"
    )
    consumer_enabled: bool = Field(True, description="Run the reporting consumer group here")
    consumer_mode: Literal["process", "thread"] = Field(
        "process", description="A child process (off the RPCs' GIL) or a thread (tests)"
    )
    consumer_group: str = "reporting"
    consumer_batch: int = Field(200, gt=0, description="Entries read per stream per round")
    consumer_idle_seconds: float = Field(0.5, gt=0, description="Pause after an empty round")
    consumer_claim_idle_seconds: float = Field(
        30.0, gt=0, description="Pending this long, an entry is taken over (XAUTOCLAIM)"
    )
    consumer_max_deliveries: int = Field(
        5, gt=0, description="Deliveries before an entry goes to the dead-letter stream"
    )
    fault_error_rate: float = Field(
        0.0, ge=0, le=1, description="Share of RPCs failed with UNAVAILABLE (simulation)"
    )
    fault_delay_rate: float = Field(0.0, ge=0, le=1, description="Share of RPCs delayed")
    fault_delay_mean_ms: float = Field(
        0.0, ge=0, description="Mean of the exponential delay added to a delayed RPC"
    )
    fault_seed: int = Field(0, ge=0, description="Seed of the fault draws; 0: a random one")
    fault_methods: str = Field(
        "", description="Comma-separated RPC names faults apply to; empty: every RPC"
    )
    worker_threads: int = Field(16, gt=0)
    max_concurrent_rpcs: int = Field(512, gt=0)
    tls_ca_file: Path = Field(
        Path(".run/certs/watch_logs/ca.crt"), description="CA whose certificates are trusted"
    )
    tls_cert_file: Path = Path(".run/certs/watch_logs/tls.crt")
    tls_key_file: Path = Path(".run/certs/watch_logs/tls.key")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _wait_within_the_socket_timeout(self) -> WatchLogSettings:
        # A WAIT longer than the socket timeout would end as a timeout, not as "not confirmed".
        if self.replica_ack_timeout_ms >= self.redis_timeout * 1000:
            raise ValueError("replica_ack_timeout_ms must be below redis_timeout")
        return self

    def tls(self) -> TlsFiles:
        """The mutual-TLS files of the service's gRPC server."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
