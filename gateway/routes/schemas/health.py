"""REST bodies of the health-metrics routes: a batch of one metric's points, sleep
sessions, and the answers (series pages, sleep summaries, a day's summary)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from gateway.routes.fields import Timestamp
from gateway.routes.health_fields import MAX_POINTS, HealthValue, MetricName, StageName
from gateway.routes.schemas.common import StrictBody
from services.common.timeutil import parse_time
from services.health_metrics.validation import MAX_SESSION, MAX_SESSIONS, MAX_STAGES


class HealthPointBody(StrictBody):
    """One measured value (validated point by point: a bad one is one rejection)."""

    time: Timestamp = Field(description="When it was measured, RFC 3339 with an offset")
    value: HealthValue


class _PointSchema:
    """Documents a raw point as HealthPointBody: the route judges each on its own."""

    def __get_pydantic_json_schema__(
        self, _core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(HealthPointBody.__pydantic_core_schema__)


# Any JSON value here; HealthPointBody's rules (and the metric's range) apply per point.
RawPoint = Annotated[Any, _PointSchema()]


class HealthPointsBody(StrictBody):
    """POST /users/{user_id}/health-metrics: a batch of one metric's points."""

    metric: MetricName
    points: list[RawPoint] = Field(
        min_length=1,
        max_length=MAX_POINTS,
        description="No two at the same instant (the whole batch is 400 otherwise)",
    )


class PointRejectionBody(BaseModel):
    """Why the point at ``index`` of the request's ``points`` was not stored."""

    index: int
    reason: str


class PointsWritten(BaseModel):
    """What a batch did: points stored (new, corrected, or already so), of which
    ``unchanged`` were already stored with that value, and the refused ones."""

    accepted: int
    unchanged: int
    rejected: list[PointRejectionBody]


class PointsDeleted(BaseModel):
    """Points a delete removed; the rollups follow within one refresh."""

    deleted: int


class SeriesPointBody(BaseModel):
    """A stored point, a bucket (its mean, or its sum for steps and active zone minutes),
    or an interpolated value (``imputed``, count 0)."""

    time: str = Field(description="The point's time or the bucket's start, RFC 3339 UTC")
    value: float
    min: float
    max: float
    count: int
    imputed: bool


class SeriesPage(BaseModel):
    """One page of a series, oldest first; continue while next_page_token is not empty."""

    metric: str
    unit: str
    resolution: str
    points: list[SeriesPointBody]
    next_page_token: str


class StageSpanBody(StrictBody):
    """One stretch of one sleep stage."""

    stage: StageName
    start: Timestamp
    end: Timestamp


class SleepSessionBody(StrictBody):
    """One sleep: stages in time order, within the session, not overlapping."""

    start: Timestamp = Field(description="Falling asleep; a session is keyed by its start")
    end: Timestamp = Field(description="Waking: after start, at most 24 hours later")
    stages: list[StageSpanBody] = Field(min_length=1, max_length=MAX_STAGES)

    @model_validator(mode="after")
    def _stages_fit(self) -> Self:
        start, end = parse_time(self.start), parse_time(self.end)
        # Differences, not sums: a session at the end of year 9999 must not overflow.
        if not timedelta(0) < end - start <= MAX_SESSION:
            raise ValueError("end must be after start, at most 24 hours later")
        cursor = start
        for index, span in enumerate(self.stages):
            span_start, span_end = parse_time(span.start), parse_time(span.end)
            if not cursor <= span_start < span_end <= end:
                raise ValueError(
                    f"stages[{index}] must end after it starts, within the session, "
                    "after the stage before it"
                )
            cursor = span_end
        return self


class SleepBody(StrictBody):
    """POST /users/{user_id}/sleep: sessions to store (or replace, by start)."""

    sessions: list[SleepSessionBody] = Field(min_length=1, max_length=MAX_SESSIONS)

    @model_validator(mode="after")
    def _distinct_starts(self) -> Self:
        starts = {parse_time(session.start) for session in self.sessions}
        if len(starts) != len(self.sessions):
            raise ValueError("two sessions start at the same instant")
        return self


class SleepWritten(BaseModel):
    """Sessions stored or replaced, of which ``unchanged`` were already stored just so."""

    accepted: int
    unchanged: int


class StageMinutes(BaseModel):
    """Minutes in each stage."""

    deep: float
    light: float
    rem: float
    wake: float


class StageSpanAnswer(BaseModel):
    """One stretch of one stage, as stored."""

    stage: str
    start: str
    end: str


class SleepSummaryBody(BaseModel):
    """A stored session with its minutes per stage."""

    start: str
    end: str
    night: str = Field(description="The UTC date the session ends on")
    stages: list[StageSpanAnswer]
    minutes: StageMinutes
    asleep_minutes: float = Field(description="Minutes in any stage but wake")


class SleepList(BaseModel):
    """Sessions ending in [from, to), oldest first."""

    sessions: list[SleepSummaryBody]


class HealthSummary(BaseModel):
    """One UTC day: null where the day has no data of that kind."""

    day: str
    resting_heart_rate: float | None = Field(
        description="Lowest mean of 30 consecutive minutes, bpm"
    )
    steps: float | None
    active_zone_minutes: float | None
    spo2_mean: float | None = Field(description="%")
    hrv_mean: float | None = Field(description="ms")
    breathing_rate_mean: float | None = Field(description="breaths/min")
    sleep_minutes: StageMinutes = Field(description="Of the sessions ending this day")


class SimulatorLink(BaseModel):
    """A simulated Fitbit Charge 6 linked to the user: the ingester stores one simulated
    day of every metric and of sleep each interval."""

    created: bool = Field(description="False when it was linked before")
    ingested_through: str | None = Field(description="The last simulated day stored so far")
