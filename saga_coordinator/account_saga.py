"""The account deletion saga, declared as data over the participants' port."""

from __future__ import annotations

from typing import Any, Protocol

from saga_coordinator.domain import InvalidRequest
from saga_coordinator.engine import SagaDefinition, Step, StepCall


class AccountParticipants(Protocol):
    """Port: the participant calls the account deletion saga is made of."""

    async def begin_user_deletion(self, call: StepCall) -> None:
        """User service: hide the user (logins, tokens, goals refused) while he is deleted."""
        ...

    async def cancel_user_deletion(self, call: StepCall) -> None:
        """User service: undo begin_user_deletion."""
        ...

    async def delete_user_activity(self, call: StepCall) -> None:
        """Activity service: delete the user's sessions, plans and statistics."""
        ...

    async def erase_user(self, call: StepCall) -> None:
        """User service: delete the user's goals, notifications, tokens and account."""
        ...


def account_sagas(participants: AccountParticipants) -> dict[str, SagaDefinition]:
    """delete_user: mark the user, erase his activity, then his account."""
    steps = (
        Step(
            "mark_user_deleting",
            participants.begin_user_deletion,
            participants.cancel_user_deletion,
        ),
        # The pivot: deleted workouts cannot be put back, so from here the saga only goes on
        # (transient failures get the compensation budget of retries).
        Step("delete_activity_data", participants.delete_user_activity, compensation=None),
        Step("erase_user", participants.erase_user, compensation=None),
    )
    return {"delete_user": SagaDefinition("delete_user", steps)}


def delete_user_data(user_id: str) -> dict[str, Any]:
    """The saga data of an account deletion."""
    if not user_id:
        raise InvalidRequest("required: user_id")
    return {"user_id": user_id}
