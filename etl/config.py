"""ETL settings, read from ETL_* environment variables."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EtlSettings(BaseSettings):
    """Where the sources and the warehouse are, and when the nightly run happens."""

    model_config = SettingsConfigDict(env_prefix="ETL_")

    warehouse_url: str = Field("", description="PostgreSQL URL of the warehouse (required)")
    user_database_url: str = "sqlite:///.run/user.db"
    activity_store: Literal["sql", "mongo"] = "sql"
    activity_database_url: str = "sqlite:///.run/activity.db"
    activity_mongo_url: str = "mongodb://127.0.0.1:27017/?replicaSet=rs0"
    activity_mongo_database: str = "fitness_activity"
    health_database_url: str = Field(
        "", description="PostgreSQL URL of the health-metrics database; empty: no health facts"
    )
    lookback_hours: float = Field(
        48.0, ge=0, description="How far before the watermark each run re-reads, for late rows"
    )
    schedule_at: time = Field(time(2, 0), description="UTC time of the nightly run (HH:MM)")
    retry_minutes: float = Field(30.0, gt=0, description="Wait before retrying a failed night")
    migrate_on_start: bool = True
    startup_timeout: float = Field(60.0, gt=0, description="How long to wait for the warehouse")
    pause_after_batch: float = Field(
        0.0, ge=0, description="Testing only: seconds to sleep after each committed batch"
    )
    log_level: str = "INFO"
