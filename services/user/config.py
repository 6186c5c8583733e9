"""User service settings, read from USER_* environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.tls import TlsFiles


class UserSettings(BaseSettings):
    """Where the user service listens, stores data and finds its signing key."""

    model_config = SettingsConfigDict(env_prefix="USER_")

    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    database_url: str = "sqlite:///.run/user.db"
    migrate_on_start: bool = True
    jwt_private_key_file: Path = Path(".run/keys/jwt_private.pem")
    jwt_issuer: str = "fitness-user-service"
    jwt_audience: str = "fitness-api"
    token_ttl_seconds: int = Field(
        900, gt=0, le=900, description="Access-token lifetime; at most 15 minutes"
    )
    refresh_token_ttl_seconds: int = Field(
        30 * 24 * 3600, gt=0, description="A refresh token expires this long after it is issued"
    )
    hash_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 2, gt=0)
    hash_queue_size: int = Field(
        default_factory=lambda: 4 * (os.cpu_count() or 2),
        ge=0,
        description="Hashes that may wait for a hashing thread; more are refused at once",
    )
    hash_queue_timeout: float = Field(
        1.0, gt=0, description="A hash that waited this long is refused (under the gateway's 3 s)"
    )
    worker_threads: int = Field(16, gt=0)
    redis_url: str = Field(
        "", description="Redis of the shared cache, to forget changed profiles; '' = no cache"
    )
    cache_timeout: float = Field(
        0.25, gt=0, description="Deadline of one Redis connect or reply of the shared cache"
    )
    max_concurrent_rpcs: int = Field(512, gt=0)
    tls_ca_file: Path = Field(
        Path(".run/certs/user/ca.crt"), description="CA whose certificates are trusted (mTLS)"
    )
    tls_cert_file: Path = Path(".run/certs/user/tls.crt")
    tls_key_file: Path = Path(".run/certs/user/tls.key")
    log_level: str = "INFO"

    def tls(self) -> TlsFiles:
        """The mutual-TLS files: every gRPC hop in and out uses them."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
