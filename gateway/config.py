"""Gateway settings, read from GATEWAY_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.edge.creation_limit import CreationSettings
from gateway.edge.login_throttle import ThrottleSettings
from gateway.realtime.settings import LiveSettings
from services.common.settings import AddressList, NameList
from services.common.tls import TlsFiles
from services.common.upstream import PoolSettings


class GatewaySettings(BaseSettings):
    """Where the gateway listens, which instances it balances over, how it verifies tokens."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    host: str = "127.0.0.1"
    port: int = 8000
    metrics_port: int = Field(0, description="Prometheus port; 0 disables the endpoint")
    user_service_addresses: AddressList = ["127.0.0.1:50051", "127.0.0.1:50052"]
    activity_service_addresses: AddressList = ["127.0.0.1:50061", "127.0.0.1:50062"]
    saga_coordinator_addresses: AddressList = ["127.0.0.1:50071"]
    watch_log_service_addresses: AddressList = ["127.0.0.1:50081"]
    motion_service_addresses: AddressList = ["127.0.0.1:50091"]
    health_service_addresses: AddressList = ["127.0.0.1:50101", "127.0.0.1:50102"]
    jwt_public_key_file: Path = Path(".run/keys/jwt_public.pem")
    jwt_issuer: str = "fitness-user-service"
    jwt_audience: str = "fitness-api"
    call_timeout: float = Field(3.0, gt=0, description="Deadline of one REST call's gRPC work")
    breaker_fail_max: int = Field(5, gt=0)
    breaker_reset_timeout: float = Field(10.0, gt=0)
    health_interval: float = Field(2.0, gt=0)
    max_body_bytes: int = Field(64 * 1024, gt=0)
    watch_logs_max_batch: int = Field(
        500, ge=1, le=500, description="Entries one POST /watch-logs may carry"
    )
    watch_logs_max_bytes: int = Field(
        256 * 1024, gt=0, description="Body bound of POST /watch-logs (others: max_body_bytes)"
    )
    # 4 watches at a sample a minute, a whole day of backfill, and live data on top: a
    # hostile account fills at most this much of Redis per window.
    watch_logs_max_entries_per_window: int = Field(
        12_000, gt=0, description="Entries one user may post per window (429 beyond)"
    )
    watch_logs_window: float = Field(3600.0, gt=0, description="Watch-log quota window, seconds")
    motion_max_readings: int = Field(
        1000, ge=1, le=1000, description="Readings one POST /sensor-data may carry"
    )
    motion_max_bytes: int = Field(
        256 * 1024, gt=0, description="Body bound of POST /sensor-data (others: max_body_bytes)"
    )
    # Two phones at 100 Hz for the whole hour: a hostile account fills at most this much
    # of the raw streams per window.
    motion_max_readings_per_window: int = Field(
        720_000, gt=0, description="Sensor readings one user may post per window (429 beyond)"
    )
    motion_window: float = Field(3600.0, gt=0, description="Sensor-reading quota window, seconds")
    health_max_points: int = Field(
        10_000, ge=1, le=10_000, description="Points one POST /users/{id}/health-metrics may carry"
    )
    # 10,000 points of ~60 bytes, and room for whitespace; 31 nights of 500 stages fit too.
    health_max_bytes: int = Field(
        2 * 1024 * 1024,
        gt=0,
        description="Body bound of POST /users/{id}/health-metrics and /sleep",
    )
    # A day of 1 Hz heart rate and every other metric, a backfill of it, and live data on
    # top: a hostile account upserts at most this many points per window.
    health_max_points_per_window: int = Field(
        200_000, gt=0, description="Health-metric points one user may post per window (429 beyond)"
    )
    health_window: float = Field(3600.0, gt=0, description="Health-point quota window, seconds")
    health_call_timeout: float = Field(
        10.0, gt=0, description="Deadline of one health-metrics call (a 10,000-point batch)"
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_max_connections: int = Field(64, gt=0)
    redis_timeout: float = Field(
        1.0,
        gt=0,
        description="Deadline of one Redis connect or reply; a hung Redis is then an outage (503)",
    )
    cache_enabled: bool = Field(
        True, description="Read profiles, statistics and workout types through the shared cache"
    )
    cache_timeout: float = Field(
        0.25, gt=0, description="Deadline of one cache call; beyond it the source answers"
    )
    warehouse_url: str = Field(
        "", description="PostgreSQL URL of the ETL's warehouse (GET /admin/etl-runs); empty: 503"
    )
    allowed_origins: AddressList = ["http://127.0.0.1:8000", "http://localhost:8000"]
    dashboard_live_reload: bool = Field(
        False, description="Re-read the dashboard's files per request (development only)"
    )
    ws_max_message_bytes: int = Field(64 * 1024, gt=0)
    ws_send_queue: int = Field(
        256, gt=0, description="Frames queued per client before it is dropped"
    )
    ws_send_timeout: float = Field(
        5.0, gt=0, description="A send stalled this long drops the client"
    )
    ws_send_buffer_bytes: int = Field(
        8 * 1024 * 1024, gt=0, description="Unsent bytes per client before it is dropped"
    )
    ws_per_message_deflate: bool = Field(
        False, description="Offer per-message compression (costs each socket ~40 KiB and CPU)"
    )
    ws_rate_per_second: float = Field(10.0, gt=0)
    ws_rate_burst: int = Field(20, gt=0)
    # Sockets (live sessions and notifications together) one user may hold per instance.
    ws_max_sockets_per_user: int = Field(10, gt=0, le=1000)
    live_empty_timeout: float = Field(300.0, gt=0, description="End a session nobody is in")
    login_account_max_failures: int = Field(
        5, gt=0, description="Failed logins on one email before it is locked"
    )
    login_address_max_failures: int = Field(
        50, gt=0, description="Failed logins from one client address before it is locked"
    )
    login_lockout_base: float = Field(
        1.0, gt=0, description="First lockout; doubles with each further failure"
    )
    login_lockout_max: float = Field(900.0, gt=0, description="Longest lockout")
    login_failure_window: float = Field(
        3600.0, gt=0, description="Failures are forgotten this long after the last lockout ends"
    )
    register_max_attempts: int = Field(
        30, gt=0, description="Registrations one client address may try per window"
    )
    register_window: float = Field(3600.0, gt=0, description="Registration window, seconds")
    create_max_per_window: int = Field(
        120, gt=0, description="Workouts, goals and group sessions one user may create per window"
    )
    create_window: float = Field(60.0, gt=0, description="Creation window, seconds")
    trusted_proxies: NameList = Field(
        [], description="Proxy addresses whose X-Forwarded-For is believed; empty trusts none"
    )
    tls_ca_file: Path = Field(
        Path(".run/certs/gateway/ca.crt"), description="CA whose certificates are trusted (mTLS)"
    )
    tls_cert_file: Path = Path(".run/certs/gateway/tls.crt")
    tls_key_file: Path = Path(".run/certs/gateway/tls.key")
    log_level: str = "INFO"

    def tls(self) -> TlsFiles:
        """The mutual-TLS files: every gRPC hop in and out uses them."""
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)

    def login_throttle_settings(self) -> ThrottleSettings:
        """The failed-login throttling part of the settings."""
        return ThrottleSettings(
            account_max_failures=self.login_account_max_failures,
            address_max_failures=self.login_address_max_failures,
            base_lockout=self.login_lockout_base,
            max_lockout=self.login_lockout_max,
            window=self.login_failure_window,
            register_max_attempts=self.register_max_attempts,
            register_window=self.register_window,
        )

    def creation_settings(self) -> CreationSettings:
        """The per-user creation limit."""
        return CreationSettings(self.create_max_per_window, self.create_window)

    def watch_log_quota(self) -> CreationSettings:
        """The per-user bound on watch-log entries posted."""
        return CreationSettings(self.watch_logs_max_entries_per_window, self.watch_logs_window)

    def motion_quota(self) -> CreationSettings:
        """The per-user bound on sensor readings posted."""
        return CreationSettings(self.motion_max_readings_per_window, self.motion_window)

    def health_quota(self) -> CreationSettings:
        """The per-user bound on health-metric points posted."""
        return CreationSettings(self.health_max_points_per_window, self.health_window)

    def live_settings(self) -> LiveSettings:
        """The WebSocket part of the settings."""
        return LiveSettings(
            allowed_origins=self.allowed_origins,
            queue_size=self.ws_send_queue,
            send_buffer_bytes=self.ws_send_buffer_bytes,
            send_timeout=self.ws_send_timeout,
            rate_per_second=self.ws_rate_per_second,
            rate_burst=self.ws_rate_burst,
            max_sockets_per_user=self.ws_max_sockets_per_user,
        )

    def body_limits(self) -> dict[tuple[str, str], int]:
        """Routes whose bodies may exceed max_body_bytes: (method, path or path template) ->
        bound."""
        return {
            ("POST", "/watch-logs"): self.watch_logs_max_bytes,
            ("POST", "/sensor-data"): self.motion_max_bytes,
            ("POST", "/users/{user_id}/health-metrics"): self.health_max_bytes,
            ("POST", "/users/{user_id}/sleep"): self.health_max_bytes,
        }

    def pool_settings(self) -> PoolSettings:
        """The upstream tuning part of the settings."""
        return PoolSettings(
            call_timeout=self.call_timeout,
            fail_max=self.breaker_fail_max,
            reset_timeout=self.breaker_reset_timeout,
            health_interval=self.health_interval,
        )
