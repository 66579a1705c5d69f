"""On-call shifts: who escalation notifies, in priority order, between two instants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.events import publish_shift_event
from accounts.exceptions import InvalidShift
from accounts.models import ShiftAssignment, Team, User
from accounts.selectors import on_call_staff
from accounts.services.common import UNSET, Actor, Unset
from audit.services import audit_record


def shift_validate(*, team: Team, agent: User, starts_at: datetime, ends_at: datetime, priority: int) -> None:
    """Every problem at once, keyed by field, as one 400."""
    errors: dict[str, list[str]] = {}
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if timezone.is_naive(value):
            errors[name] = ["Give a time zone offset (e.g. 2026-03-01T08:00:00+00:00)."]
    if not errors and ends_at <= starts_at:
        errors["ends_at"] = ["The shift must end after it starts."]
    if priority < 1:
        errors["priority"] = ["Priority starts at 1 (notified first)."]
    if not on_call_staff(team_id=team.pk).filter(pk=agent.pk).exists():
        errors["agent_id"] = [
            "The agent must be an active staff member of this team whose team role can work alerts "
            "(owner, admin or agent)."
        ]
    if errors:
        raise InvalidShift("The shift is invalid.", details=errors)


def _describe(shift: ShiftAssignment) -> dict[str, Any]:
    return {
        "agent_id": shift.agent_id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "priority": shift.priority,
    }


@transaction.atomic
def shift_create(
    *, team: Team, agent: User, starts_at: datetime, ends_at: datetime, by: Actor, priority: int = 1
) -> ShiftAssignment:
    shift_validate(team=team, agent=agent, starts_at=starts_at, ends_at=ends_at, priority=priority)
    shift = ShiftAssignment.objects.create(
        team=team, agent=agent, starts_at=starts_at, ends_at=ends_at, priority=priority
    )
    audit_record(actor=by, action="shift.created", target=shift, data=_describe(shift))
    publish_shift_event(action="shift_created", shift=shift)
    return shift


@transaction.atomic
def shift_update(
    *,
    shift: ShiftAssignment,
    by: Actor,
    agent: User | Unset = UNSET,
    starts_at: datetime | Unset = UNSET,
    ends_at: datetime | Unset = UNSET,
    priority: int | Unset = UNSET,
) -> ShiftAssignment:
    locked = ShiftAssignment.objects.select_for_update().select_related("team", "agent").get(pk=shift.pk)
    before = _describe(locked)
    if not isinstance(agent, Unset):
        locked.agent = agent
    if not isinstance(starts_at, Unset):
        locked.starts_at = starts_at
    if not isinstance(ends_at, Unset):
        locked.ends_at = ends_at
    if not isinstance(priority, Unset):
        locked.priority = priority
    shift_validate(
        team=locked.team,
        agent=locked.agent,
        starts_at=locked.starts_at,
        ends_at=locked.ends_at,
        priority=locked.priority,
    )
    after = _describe(locked)
    changes = {key: {"from": before[key], "to": after[key]} for key in after if after[key] != before[key]}
    if changes:
        fields = [("agent" if key == "agent_id" else key) for key in changes]
        locked.save(update_fields=fields)
        audit_record(actor=by, action="shift.updated", target=locked, data={"changes": changes})
        publish_shift_event(action="shift_updated", shift=locked)
    return locked


@transaction.atomic
def shift_delete(*, shift: ShiftAssignment, by: Actor) -> None:
    locked = ShiftAssignment.objects.select_for_update().get(pk=shift.pk)
    audit_record(actor=by, action="shift.deleted", target=locked, data=_describe(locked))
    publish_shift_event(action="shift_deleted", shift=locked)
    locked.delete()
