"""Bulk re-accommodation of every booking on a disrupted leg, and the alert-level entry
point the escalation fallback step calls (``fallbacks_for_alert``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from alertguardian.api import InvalidInput
from alerts.events import publish_alert_event
from alerts.models import Alert, AlertEventKind
from alerts.services import Actor, alert_event_add
from audit.services import AuditActor, audit_record
from fallbacks.engine import (
    Candidate,
    Disruption,
    SearchContext,
    disruption_from_alert,
    has_connection_at,
    plan_for_booking,
)
from fallbacks.exceptions import RoomsUnavailable, SeatsUnavailable
from fallbacks.models import (
    ActionOutcome,
    Booking,
    BookingSegment,
    ChangeRequest,
    ChangeRequestStatus,
    FallbackAction,
    FallbackOption,
    OptionKind,
    OptionStatus,
    TeamFallbackSettings,
)
from fallbacks.selectors import active_segments_prefetch, affected_bookings, team_fallback_settings
from fallbacks.services.bulk_apply import BulkBatch, bulk_apply_one
from fallbacks.services.notices import alert_customers_notify
from fallbacks.services.suggestions import booking_options_compute, option_from_candidate

logger = logging.getLogger(__name__)

FALLBACK_MODES = ("suggest", "notify", "auto_rebook")
MODE_ALIASES = {
    "auto": "auto_rebook",
    "rebook": "auto_rebook",
    "reaccommodate": "auto_rebook",
    "suggestions": "suggest",
}
CHUNK_SIZE = 25


@dataclass
class BulkResult:
    alert_id: int
    leg_key: str
    considered: int = 0
    rebooked: list[dict[str, Any]] = field(default_factory=list)
    already_handled: list[int] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "leg_key": self.leg_key,
            "considered": self.considered,
            "rebooked_count": len(self.rebooked),
            "failed_count": len(self.failed),
            "rebooked": self.rebooked,
            "already_handled": self.already_handled,
            "failed": self.failed,
        }


def _priority_key(booking: Booking, leg_key: str) -> tuple[int, int, datetime, int]:
    """Connecting passengers first, then higher ``priority``, then the earliest booking."""
    segments = booking.active_segments  # type: ignore[attr-defined]
    index = next((i for i, s in enumerate(segments) if s.leg_key == leg_key), 0)
    connecting = has_connection_at(segments, index)
    return (0 if connecting else 1, -booking.priority, booking.created_at, booking.pk)


def alert_reaccommodate(*, alert_id: int, by: Actor, now: datetime | None = None) -> BulkResult:
    """Rebook every affected booking onto its best available option, in priority order.

    Each booking is its own transaction, so one failure does not undo the others; it is
    reported. Idempotent: bookings with an applied action for this alert are skipped,
    and the (alert, booking) unique index stops a concurrent run from doubling one.
    """
    now = now or timezone.now()
    alert = Alert.objects.select_related("team").filter(pk=alert_id).first()
    if alert is None:
        raise InvalidInput("Unknown alert.", details={"alert_id": [alert_id]})
    disruption = disruption_from_alert(alert)
    if disruption is None:
        raise InvalidInput(
            "Only flight disruption alerts (cancelled, delayed, diverted leg) can be re-accommodated.",
            details={"alert_id": [alert_id]},
        )
    result = BulkResult(alert_id=alert.pk, leg_key=disruption.leg_key)
    handled = set(
        FallbackAction.objects.filter(alert=alert, outcome=ActionOutcome.APPLIED).values_list("booking_id", flat=True)
    )
    result.already_handled = sorted(handled)
    bookings = list(
        affected_bookings(team_id=alert.team_id, leg_key=disruption.leg_key)
        .exclude(pk__in=handled)
        .prefetch_related(active_segments_prefetch())
    )
    bookings.sort(key=lambda b: _priority_key(b, disruption.leg_key))
    result.considered = len(bookings)
    context = SearchContext()
    memo: dict[tuple[Any, ...], tuple[list[Candidate], list[int], bool]] = {}
    team_settings = team_fallback_settings(team_id=alert.team_id)
    ids = [b.pk for b in bookings]
    with_options = set(
        FallbackOption.objects.filter(booking_id__in=ids, status=OptionStatus.OPEN).values_list("booking_id", flat=True)
    )
    with_requests = set(
        ChangeRequest.objects.filter(booking_id__in=ids, status=ChangeRequestStatus.OPEN).values_list(
            "booking_id", flat=True
        )
    )
    chunks = [bookings[i : i + CHUNK_SIZE] for i in range(0, len(bookings), CHUNK_SIZE)]
    while chunks:
        chunk = chunks.pop(0)
        ledger = dict(context.seats_taken), dict(context.rooms_taken)
        outcomes: list[tuple[Booking, dict[str, Any]]] = []
        try:
            with transaction.atomic():
                # Alert first, like every applier (alert → booking → inventory → audit chain).
                locked = Alert.objects.select_for_update().get(pk=alert.pk)
                done = set(
                    FallbackAction.objects.filter(
                        alert=alert, booking_id__in=[b.pk for b in chunk], outcome=ActionOutcome.APPLIED
                    ).values_list("booking_id", flat=True)
                )
                batch = BulkBatch(
                    alert=locked,
                    by=by,
                    now=now,
                    bookings_with_open_options=with_options,
                    bookings_with_open_requests=with_requests,
                )
                for booking in chunk:
                    if booking.pk in done:  # a concurrent run got there first
                        outcomes.append((booking, {"already": True}))
                        continue
                    outcomes.append(
                        (
                            booking,
                            _rebook_one(
                                booking=booking,
                                alert=locked,
                                context=context,
                                team_settings=team_settings,
                                batch=batch,
                                memo=memo,
                            ),
                        )
                    )
                batch.flush()
        except DatabaseError:
            # e.g. a deadlock with a concurrent applier: PostgreSQL aborted the chunk. Retry
            # its bookings one transaction each, so one problem cannot sink the others.
            context.seats_taken, context.rooms_taken = ledger
            if len(chunk) == 1:
                logger.exception("bulk re-accommodation of booking %s failed", chunk[0].pk)
                result.failed.append(
                    {"booking_id": chunk[0].pk, "reference": chunk[0].reference, "reason": "database error; retry"}
                )
                continue
            chunks = [[b] for b in chunk] + chunks
            continue
        for booking, outcome in outcomes:
            if outcome.get("action_id"):
                result.rebooked.append(outcome)
            elif outcome.get("already"):
                result.already_handled.append(booking.pk)
            else:
                result.failed.append(outcome)
    if result.rebooked:
        _record_summary(alert=alert, by=by, result=result)
    return result


def _rebook_one(
    *,
    booking: Booking,
    alert: Alert,
    context: SearchContext,
    team_settings: TeamFallbackSettings,
    batch: BulkBatch,
    memo: dict[tuple[Any, ...], tuple[list[Candidate], list[int], bool]],
) -> dict[str, Any]:
    disruption = disruption_from_alert(alert)
    assert disruption is not None
    segments: list[BookingSegment] = booking.active_segments  # type: ignore[attr-defined]
    candidates, refund_eligible = _candidates(
        booking=booking,
        segments=segments,
        disruption=disruption,
        context=context,
        team_settings=team_settings,
        now=batch.now,
        memo=memo,
    )
    base = {"booking_id": booking.pk, "reference": booking.reference}
    if not candidates:
        reason = "no alternative with free seats in the search window"
        if refund_eligible:
            reason += "; refund eligible"
        return {**base, "reason": reason}
    last_error = ""
    for rank, candidate in enumerate(candidates, start=1):
        # Not persisted as an option row: nobody picks among bulk options; the action's
        # detail keeps what was booked.
        option = option_from_candidate(
            booking=booking,
            alert_id=alert.pk,
            disruption=disruption,
            candidate=candidate,
            rank=rank,
            expires_at=batch.now,
            currency=booking.currency,
            created_at=batch.now,
        )
        try:
            action = bulk_apply_one(booking=booking, option=option, batch=batch)
        except (SeatsUnavailable, RoomsUnavailable) as exc:
            last_error = str(exc)
            continue
        if action is None:
            return {**base, "reason": "the booking changed during the run; not rebooked"}
        for step in candidate.steps:
            if step.mode == "air":
                key = (step.provider, step.ref)
                context.seats_taken[key] = context.seats_taken.get(key, 0) + booking.passengers
        if candidate.hotel:
            hotel_key = f"{candidate.hotel['provider']}:{candidate.hotel['ref']}"
            context.rooms_taken[hotel_key] = context.rooms_taken.get(hotel_key, 0) + candidate.hotel["rooms"]
        return {**base, "action_id": action.pk, "kind": candidate.kind, "summary": action.summary}
    return {**base, "reason": f"every option sold out while applying ({last_error})"}


def _itinerary_signature(booking: Booking, segments: list[BookingSegment]) -> tuple[Any, ...]:
    """Bookings with the same itinerary, party size and price get the same ranked plans."""
    return (
        booking.passengers,
        booking.currency,
        booking.total_paid,
        tuple(
            (s.leg_key, s.origin, s.destination, s.scheduled_departure, s.scheduled_arrival, s.fare, s.cabin)
            for s in segments
        ),
    )


def _candidates(
    *,
    booking: Booking,
    segments: list[BookingSegment],
    disruption: Disruption,
    context: SearchContext,
    team_settings: TeamFallbackSettings,
    now: datetime,
    memo: dict[tuple[Any, ...], tuple[list[Candidate], list[int], bool]],
) -> tuple[list[Candidate], bool]:
    """The ranked non-refund candidates for the booking. A plan computed for an identical
    itinerary earlier in the run is reused (re-bound to this booking's segments) while
    its flights still have seats in this run; otherwise it is computed afresh."""
    key = _itinerary_signature(booking, segments)
    if key in memo:
        ranked, source_ids, refund_eligible = memo[key]
        position = {pk: i for i, pk in enumerate(source_ids)}
        usable = [
            replace(
                c,
                replaced_segment_ids=[segments[position[pk]].pk for pk in c.replaced_segment_ids],
                kept_segment_ids=[segments[position[pk]].pk for pk in c.kept_segment_ids],
            )
            for c in ranked
            if all(
                s.seats_free - context.seats_taken.get((s.provider, s.ref), 0) >= booking.passengers
                for s in c.steps
                if s.mode == "air"
            )
        ]
        if usable:
            return usable, refund_eligible
    plan = plan_for_booking(
        booking=booking,
        disruption=disruption,
        team_settings=team_settings,
        context=context,
        now=now,
        segments=segments,
    )
    ranked = [c for c in plan.candidates if c.kind != OptionKind.REFUND]
    memo[key] = (ranked, [s.pk for s in segments], plan.refund.eligible)
    return ranked, plan.refund.eligible


@transaction.atomic
def _record_summary(*, alert: Alert, by: Actor, result: BulkResult) -> None:
    locked = Alert.objects.select_for_update().get(pk=alert.pk)
    data = {
        "bulk": True,
        "leg_key": result.leg_key,
        "rebooked": len(result.rebooked),
        "failed": len(result.failed),
        "failed_bookings": [f["booking_id"] for f in result.failed],
    }
    message = f"Bulk re-accommodation: {len(result.rebooked)} booking(s) rebooked, {len(result.failed)} without option"
    alert_event_add(alert=locked, kind=AlertEventKind.FALLBACK, actor=by, message=message, data=data)
    audit_record(actor=by, action="fallback.bulk_reaccommodated", target=locked, data=data)
    publish_alert_event("alert.fallback_applied", locked, data)


def fallbacks_for_alert(alert_id: int, mode: str, run_id: int | None = None) -> dict[str, Any]:
    """The escalation fallback step: ``suggest`` (rank and store options for every affected
    booking), ``notify`` (tell affected customers), or ``auto_rebook`` (bulk re-accommodate)."""
    mode = MODE_ALIASES.get(mode, mode)
    if mode not in FALLBACK_MODES:
        raise InvalidInput(f"Unknown fallback mode {mode!r}.", details={"mode": list(FALLBACK_MODES)})
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        return {"alert_id": alert_id, "mode": mode, "skipped": "alert not found"}
    disruption = disruption_from_alert(alert)
    if disruption is None:
        return {"alert_id": alert_id, "mode": mode, "skipped": "not a flight disruption"}
    actor = AuditActor(label=f"escalation run {run_id}" if run_id else "fallbacks", id=None)
    if mode == "notify":
        return {"alert_id": alert_id, "mode": mode, "notified": alert_customers_notify(alert_id=alert_id)}
    if mode == "auto_rebook":
        return {"mode": mode, **alert_reaccommodate(alert_id=alert_id, by=actor).as_json()}
    context = SearchContext()
    team_settings = team_fallback_settings(team_id=alert.team_id)
    bookings = affected_bookings(team_id=alert.team_id, leg_key=disruption.leg_key).prefetch_related(
        active_segments_prefetch()
    )
    counts = {"bookings": 0, "options": 0}
    for booking in bookings:
        options = booking_options_compute(booking=booking, alert=alert, context=context, team_settings=team_settings)
        counts["bookings"] += 1
        counts["options"] += len(options)
    return {"alert_id": alert_id, "mode": mode, **counts}


def alert_disruption_process(*, alert_id: int) -> dict[str, Any]:
    """What a new disruption alert triggers (receiver → task): tell the affected customers,
    then rank options for each of their bookings so agents find them ready."""
    notified = fallbacks_for_alert(alert_id, "notify")
    suggested = fallbacks_for_alert(alert_id, "suggest")
    return {
        "alert_id": alert_id,
        "notified": notified.get("notified", 0),
        **{k: v for k, v in suggested.items() if k in {"bookings", "options"}},
    }
