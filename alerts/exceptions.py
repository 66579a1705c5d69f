from __future__ import annotations

from typing import Any

from alertguardian.api import Conflict, InvalidInput


class AlertStateConflict(Conflict):
    """The transition is not allowed from the alert's current state (409, with that state)."""

    code = "alert_state_conflict"

    def __init__(self, message: str, *, alert: Any) -> None:
        super().__init__(
            message,
            details={
                "status": alert.status,
                "acknowledged_by": alert.acknowledged_by_id,
                "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
                "resolved_by": alert.resolved_by_id,
                "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            },
        )


class InvalidAssignee(InvalidInput):
    code = "invalid_assignee"


class UnknownBooking(InvalidInput):
    """A customer report names a booking that no resolver knows for this customer (400)."""

    code = "unknown_booking"
