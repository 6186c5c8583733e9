"""Field types of the health-metrics routes (docs in gateway.routes.fields): the bounds are
the health-metrics service's (services/health_metrics/domain.py and its settings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, Field

from gateway.routes.fields import ID_PATTERN, Timestamp, iso_date
from services.health_metrics.domain import SPECS, Metric, SleepStage
from services.health_metrics.validation import MAX_PAGE_SIZE, USER_ID_MAX

# HEALTH_MAX_POINTS' ceiling (HealthSettings): no instance takes a larger batch.
MAX_POINTS = 10_000
LOWEST = min(spec.low for spec in SPECS.values())
HIGHEST = max(spec.high for spec in SPECS.values())
RANGES = ", ".join(f"{m.value} {s.low:g}-{s.high:g} {s.unit}" for m, s in SPECS.items())

# Enums from JSON: strict bodies would otherwise want the enum instance itself.
MetricName = Annotated[Metric, Field(strict=False, examples=["heart_rate"])]
StageName = Annotated[SleepStage, Field(strict=False, examples=["deep"])]
HealthValue = Annotated[
    float,
    Field(
        ge=LOWEST,
        le=HIGHEST,
        allow_inf_nan=False,
        description=f"A finite number in the metric's unit and range: {RANGES}",
        examples=[62],
    ),
]

HealthUserId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=USER_ID_MAX,
        pattern=ID_PATTERN,
        description="The user whose data it is (yourself, or anyone for an admin)",
    ),
]
MetricPath = Annotated[Metric, Path(description="The metric")]
DayPath = Annotated[
    str,
    Path(
        min_length=10,
        max_length=10,
        description="The UTC date, YYYY-MM-DD",
        json_schema_extra={"format": "date"},
        examples=["2024-01-31"],
    ),
    AfterValidator(iso_date),
]
SeriesFrom = Annotated[
    Timestamp | None,
    Query(alias="from", description="RFC 3339; default 24 h before to (at most 400 days)"),
]
SeriesTo = Annotated[Timestamp | None, Query(alias="to", description="RFC 3339; default now")]
DeleteFrom = Annotated[Timestamp, Query(alias="from", description="First instant deleted")]
DeleteTo = Annotated[Timestamp, Query(alias="to", description="First instant kept after it")]
SleepFrom = Annotated[
    Timestamp | None,
    Query(alias="from", description="Sessions ending at or after; default 7 days before to"),
]
SleepTo = Annotated[
    Timestamp | None, Query(alias="to", description="Sessions ending before; default now")
]
SeriesPageSize = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE_SIZE, description="Real points a page holds at most (imputed extra)"),
]
