"""Activity service settings, read from ACTIVITY_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import AddressList
from services.common.tls import TlsFiles


class ActivitySettings(BaseSettings):
    """Where the activity service listens, which store it uses, where users live."""

    model_config = SettingsConfigDict(env_prefix="ACTIVITY_")

    host: str = "127.0.0.1"
    port: int = 50061
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    store: Literal["sql", "mongo"] = "sql"
    database_url: str = "sqlite:///.run/activity.db"
    migrate_on_start: bool = True
    mongo_url: str = "mongodb://localhost:27017/?replicaSet=rs0"
    mongo_database: str = "fitness_activity"
    user_service_addresses: AddressList = ["127.0.0.1:50051"]
    user_service_timeout: float = Field(2.0, gt=0)
    worker_threads: int = Field(16, gt=0)
    max_concurrent_rpcs: int = Field(512, gt=0)
    redis_url: str = Field(
        "",
        description="Redis the progress relay publishes goal alerts to and the shared cache "
        "lives in; '' lists alerts only, without a cache",
    )
    redis_timeout: float = Field(1.0, gt=0)
    cache_timeout: float = Field(
        0.25,
        gt=0,
        description="Deadline of one shared-cache call (the same Redis); then the source",
    )
    relay_poll_interval: float = Field(1.0, gt=0)
    relay_lease_seconds: float = Field(30.0, gt=0)
    relay_max_backoff: float = Field(30.0, gt=0)
    outbox_retention: float = Field(
        7 * 24 * 3600.0, ge=0, description="seconds delivered progress events are kept; 0 keeps"
    )
    tls_ca_file: Path = Field(
        Path(".run/certs/activity/ca.crt"), description="CA whose certificates are trusted (mTLS)"
    )
    tls_cert_file: Path = Path(".run/certs/activity/tls.crt")
    tls_key_file: Path = Path(".run/certs/activity/tls.key")
    log_level: str = "INFO"

    def tls(self) -> TlsFiles:
        """The mutual-TLS files: every gRPC hop in and out uses them."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
