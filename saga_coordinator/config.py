"""Saga coordinator settings, read from SAGA_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from saga_coordinator.engine import RetryPolicy
from services.common.settings import AddressList
from services.common.tls import TlsFiles
from services.common.upstream import PoolSettings


class SagaSettings(BaseSettings):
    """Where the coordinator listens, keeps its log and finds the participants."""

    model_config = SettingsConfigDict(env_prefix="SAGA_")

    host: str = "127.0.0.1"
    port: int = 50071
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    database_url: str = "sqlite:///.run/saga.db"
    migrate_on_start: bool = True
    user_service_addresses: AddressList = ["127.0.0.1:50051", "127.0.0.1:50052"]
    activity_service_addresses: AddressList = ["127.0.0.1:50061", "127.0.0.1:50062"]
    step_timeout: float = Field(2.0, gt=0, description="Deadline of one participant call")
    breaker_fail_max: int = Field(
        5, gt=0, description="Consecutive failures that open an instance's breaker"
    )
    breaker_reset_timeout: float = Field(
        1.0, gt=0, description="Seconds an open breaker refuses calls to its instance"
    )
    max_attempts: int = Field(5, gt=0, description="Tries of a step before compensating")
    compensation_max_attempts: int = Field(
        30, gt=0, description="Tries of a compensation before NEEDS_ATTENTION"
    )
    retry_base_delay: float = Field(0.2, gt=0)
    retry_max_delay: float = Field(30.0, gt=0)
    resume_interval: float = Field(5.0, gt=0, description="How often stalled sagas are resumed")
    wait_margin: float = Field(
        0.25, ge=0, description="Seconds before a caller's deadline that a waiting RPC returns"
    )
    freeze_at: str = Field("", description="Testing only: freeze at this step boundary")
    freeze_marker: Path | None = Field(None, description="Testing only: file naming the freeze")
    tls_ca_file: Path = Field(
        Path(".run/certs/saga/ca.crt"), description="CA whose certificates are trusted (mTLS)"
    )
    tls_cert_file: Path = Path(".run/certs/saga/tls.crt")
    tls_key_file: Path = Path(".run/certs/saga/tls.key")
    log_level: str = "INFO"

    def tls(self) -> TlsFiles:
        """The mutual-TLS files: every gRPC hop in and out uses them."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)

    def pool_settings(self) -> PoolSettings:
        """The participant clients' tuning: a step call's deadline and the breakers."""
        return PoolSettings(
            call_timeout=self.step_timeout,
            fail_max=self.breaker_fail_max,
            reset_timeout=self.breaker_reset_timeout,
            # A step attempt tries its participant, as it did before breakers: one
            # refused by an open breaker waits for the trial within the step timeout.
            await_trial=True,
        )

    def retry_policy(self) -> RetryPolicy:
        """The retry part of the settings."""
        return RetryPolicy(
            max_attempts=self.max_attempts,
            compensation_max_attempts=self.compensation_max_attempts,
            base_delay=self.retry_base_delay,
            max_delay=self.retry_max_delay,
        )
