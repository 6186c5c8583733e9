"""Settings of the health-metrics service (HEALTH_*) and its simulated-device ingester
(HEALTH_INGESTER_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.tls import TlsFiles

DATABASE_HELP = "PostgreSQL URL of the service's own database"


class HealthSettings(BaseSettings):
    """Where the service listens, its database, and how often its rollups are refreshed."""

    model_config = SettingsConfigDict(env_prefix="HEALTH_")

    host: str = "127.0.0.1"
    port: int = 50101
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    database_url: str = Field(
        "postgresql://health@127.0.0.1:5432/health", description=DATABASE_HELP
    )
    refresh_interval_seconds: float = Field(
        5.0, gt=0, description="Pause between rollup refreshes while none is due"
    )
    refresh_batch_minutes: int = Field(
        20_000, ge=1, description="Dirty minutes one refresh transaction recomputes at most"
    )
    max_points: int = Field(10_000, ge=1, le=10_000, description="Points one batch may hold")
    max_clock_skew_seconds: float = Field(300.0, ge=0, description="How far ahead a point may be")
    worker_threads: int = Field(16, gt=0)
    max_concurrent_rpcs: int = Field(512, gt=0)
    tls_ca_file: Path = Field(
        Path(".run/certs/health/ca.crt"), description="CA whose certificates are trusted"
    )
    tls_cert_file: Path = Path(".run/certs/health/tls.crt")
    tls_key_file: Path = Path(".run/certs/health/tls.key")
    log_level: str = "INFO"

    def tls(self) -> TlsFiles:
        """The mutual-TLS files of the service's gRPC server."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)


class IngesterSettings(BaseSettings):
    """The simulated-device ingester: whose devices, how often a day, and its database."""

    model_config = SettingsConfigDict(env_prefix="HEALTH_INGESTER_")

    database_url: str = Field(
        "postgresql://health@127.0.0.1:5432/health", description=DATABASE_HELP
    )
    interval_seconds: float = Field(
        120.0, gt=0, description="One simulated day per linked user every this many seconds"
    )
    first_day: str = Field(
        "", description="The first simulated day (YYYY-MM-DD); empty: a week before today (UTC)"
    )
    seed: int = Field(0, description="Seed of the simulation (the same seed, the same days)")
    host: str = Field("127.0.0.1", description="Address of the Prometheus endpoint")
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    log_level: str = "INFO"
