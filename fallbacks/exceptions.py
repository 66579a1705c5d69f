"""Errors of the fallbacks domain (rendered as ``{"code", "message", "details"}``)."""

from __future__ import annotations

from typing import Any

from alertguardian.api import Conflict, InvalidInput


class BookingInvalid(InvalidInput):
    code = "booking_invalid"


class SeatsUnavailable(Exception):
    """Raised by a provider when a conditional seat reservation finds the flight full."""

    def __init__(self, *, ref: str, seats: int) -> None:
        self.ref = ref
        self.seats = seats
        super().__init__(f"flight {ref}: {seats} seat(s) no longer available")


class RoomsUnavailable(Exception):
    def __init__(self, *, ref: str, rooms: int) -> None:
        self.ref = ref
        self.rooms = rooms
        super().__init__(f"hotel {ref}: {rooms} room(s) no longer available")


class OptionUnavailable(Conflict):
    """409: the option cannot be applied any more (sold out, expired, booking changed).
    ``details.next_best`` carries the best option that is still available, if any."""

    code = "option_unavailable"

    def __init__(self, message: str, *, reason: str, next_best: dict[str, Any] | None = None) -> None:
        super().__init__(message, details={"reason": reason, "next_best": next_best})
        self.reason = reason


class BookingStateConflict(Conflict):
    code = "booking_state_conflict"


class ChangeRequestOpen(Conflict):
    code = "change_request_open"
