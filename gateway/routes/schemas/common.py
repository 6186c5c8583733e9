"""Shared pieces of the REST bodies: strict request bases, goal type names, the error shape."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from services.common.goal_types import GOAL_TYPE_NAMES, GoalType
from services.common.text import describe, unsafe_character

# The platform's goal types (fitness.goal.v1.GoalType) by their lower-case names. Not
# strict: a JSON body carries the name, never a GoalType, and pydantic's strict mode would
# want the instance. The schema is inline, as for the other enums of the API.
GoalTypeName = Annotated[
    GoalType,
    Field(strict=False),
    WithJsonSchema({"type": "string", "enum": list(GOAL_TYPE_NAMES)}),
]


class StrictBody(BaseModel):
    """Request bodies: unknown fields and wrongly typed values are rejected, not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="after")
    def _no_unsafe_strings(self) -> Self:
        # A safety net for string fields declared without a gateway.routes.fields type.
        for name, value in self:
            for text in value if isinstance(value, list) else [value]:
                bad = unsafe_character(text, multiline=True) if isinstance(text, str) else None
                if bad is not None:
                    raise ValueError(f"{name} must not contain {describe(bad)}")
        return self


class PatchBody(StrictBody):
    """PATCH bodies: only the fields present change; null is not a value."""

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"fields may not be null: {', '.join(nulls)}")
        return self


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: int = Field(description="HTTP status code")
    status: str = Field(description="Canonical status name, e.g. NOT_FOUND")
    message: str


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail
