"""Settings of the motion service (MOTION_*), its processor workers (MOTION_PROCESSOR_*)
and its warehouse sink workers (MOTION_SINK_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.tls import TlsFiles
from services.motion.validation import MAX_READINGS

REDIS_URL_HELP = "redis://host:port/db or redis-cluster://seeds"
# Every component of one store must agree on this: it decides which stream holds a device.
PARTITIONS_HELP = "Partitions of the store (the same in every motion component)"


class MotionSettings(BaseSettings):
    """Where the motion service listens, its Redis, and the bounds of what it accepts."""

    model_config = SettingsConfigDict(env_prefix="MOTION_")

    host: str = "127.0.0.1"
    port: int = 50091
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description=REDIS_URL_HELP)
    redis_timeout: float = Field(2.0, gt=0, description="Connect and reply timeout of a call")
    partitions: int = Field(16, ge=1, le=1024, description=PARTITIONS_HELP)
    max_devices_per_user: int = Field(10, ge=1, description="Devices one user may own")
    max_readings: int = Field(
        MAX_READINGS, ge=1, le=MAX_READINGS, description="Readings one message may hold"
    )
    max_reading_age_hours: float = Field(
        24.0, gt=0, description="Older readings are refused; also the message-id dedup window"
    )
    max_clock_skew_seconds: float = Field(300.0, ge=0, description="How far ahead a reading may be")
    raw_retention_hours: float = Field(
        24.0, gt=0, description="Raw entries older than this (by ingest time) are trimmed"
    )
    worker_threads: int = Field(16, gt=0)
    max_concurrent_rpcs: int = Field(512, gt=0)
    tls_ca_file: Path = Field(
        Path(".run/certs/motion/ca.crt"), description="CA whose certificates are trusted"
    )
    tls_cert_file: Path = Path(".run/certs/motion/tls.crt")
    tls_key_file: Path = Path(".run/certs/motion/tls.key")
    log_level: str = "INFO"

    def tls(self) -> TlsFiles:
        """The mutual-TLS files of the service's gRPC server."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)


class ProcessorSettings(BaseSettings):
    """A processor worker: its Redis, windows, classification and partition leases."""

    model_config = SettingsConfigDict(env_prefix="MOTION_PROCESSOR_")

    redis_url: str = Field("redis://127.0.0.1:6379/0", description=REDIS_URL_HELP)
    redis_timeout: float = Field(2.0, gt=0, description="Connect and reply timeout of a call")
    partitions: int = Field(16, ge=1, le=1024, description=PARTITIONS_HELP)
    worker_name: str = Field("", description="Consumer name; empty: host:pid")
    window_ms: int = Field(5000, ge=1000, le=60_000, description="Window length, event time")
    slide_ms: int = Field(2500, ge=100, description="Window slide (a divisor of window_ms)")
    grace_ms: int = Field(
        500, ge=0, le=60_000, description="Lateness allowed before a window closes, event time"
    )
    idle_timeout_ms: int = Field(
        3000, ge=100, description="A session silent this long (wall time) has its windows closed"
    )
    lease_ms: int = Field(
        3000, ge=500, description="A partition lease lasts this long unless its worker renews it"
    )
    batch: int = Field(500, gt=0, description="Raw entries read per partition per round")
    poll_idle_seconds: float = Field(0.05, gt=0, description="Pause after a round found nothing")
    records_retention_hours: float = Field(
        48.0, gt=0, description="Records and their index kept this long (by window end)"
    )
    processed_max_length: int = Field(
        1_000_000, gt=0, description="Approximate length bound of each processed stream"
    )
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    host: str = Field("127.0.0.1", description="Where the metrics endpoint listens")
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _slide_divides_the_window(self) -> ProcessorSettings:
        # Windows start on multiples of the slide: each reading is in exactly window/slide.
        if self.slide_ms > self.window_ms or self.window_ms % self.slide_ms:
            raise ValueError("slide_ms must divide window_ms")
        return self


class SinkSettings(BaseSettings):
    """A warehouse sink worker: which streams it copies into which PostgreSQL."""

    model_config = SettingsConfigDict(env_prefix="MOTION_SINK_")

    redis_url: str = Field("redis://127.0.0.1:6379/0", description=REDIS_URL_HELP)
    redis_timeout: float = Field(2.0, gt=0, description="Connect and reply timeout of a call")
    partitions: int = Field(16, ge=1, le=1024, description=PARTITIONS_HELP)
    warehouse_url: str = Field(
        "postgresql://127.0.0.1:5433/warehouse", description="The warehouse's PostgreSQL"
    )
    streams: str = Field("raw,processed", description="Which streams this worker sinks")
    worker_name: str = Field("", description="Consumer name; empty: host:pid")
    batch: int = Field(500, gt=0, description="Entries read per stream per round")
    poll_idle_seconds: float = Field(0.2, gt=0, description="Pause after a round found nothing")
    claim_idle_seconds: float = Field(
        30.0, gt=0, description="Pending this long, an entry is taken over (XAUTOCLAIM)"
    )
    max_deliveries: int = Field(
        5, gt=0, description="Deliveries before an entry goes to the dead-letter stream"
    )
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    host: str = Field("127.0.0.1", description="Where the metrics endpoint listens")
    log_level: str = "INFO"
