"""Per-user read/dismiss state of alerts, and the live unread count that follows it.

Read and dismissed are personal: dismissing hides an alert from one user's list only.
Each change is idempotent (marking a read alert read again writes nothing and sends
nothing), audited when it happens, and followed on commit by an ``unread.count`` event
to ``user.<id>`` when the user's unread count moved (see ``alert_unread_count``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from alerts.events import publish_unread_count
from alerts.models import Alert, AlertUserState
from alerts.selectors import alert_unread_audience, alert_unread_count
from audit.services import audit_record


def _counts_as_unread(alert: Alert, state: AlertUserState) -> bool:
    return alert.is_open and state.read_at is None and state.dismissed_at is None


def _state_for_update(*, alert: Alert, user: User) -> AlertUserState:
    # get_or_create survives a concurrent first touch (unique alert+user); the lock then
    # orders concurrent changes of the same row.
    AlertUserState.objects.get_or_create(alert=alert, user=user)
    return AlertUserState.objects.select_for_update().get(alert=alert, user=user)


@transaction.atomic
def _state_set(*, alert: Alert, user: User, field: str, on: bool, action: str) -> AlertUserState:
    state = _state_for_update(alert=alert, user=user)
    if (getattr(state, field) is not None) == on:
        return state  # already so: nothing to write, audit or send
    was_unread = _counts_as_unread(alert, state)
    setattr(state, field, timezone.now() if on else None)
    state.save(update_fields=[field])
    audit_record(actor=user, action=action, target=alert)
    if was_unread != _counts_as_unread(alert, state):
        publish_unread_count(user.pk, alert_unread_count(user=user))
    return state


def alert_mark_read(*, alert: Alert, user: User) -> AlertUserState:
    return _state_set(alert=alert, user=user, field="read_at", on=True, action="alert.read")


def alert_mark_unread(*, alert: Alert, user: User) -> AlertUserState:
    return _state_set(alert=alert, user=user, field="read_at", on=False, action="alert.unread")


def alert_dismiss(*, alert: Alert, user: User) -> AlertUserState:
    return _state_set(alert=alert, user=user, field="dismissed_at", on=True, action="alert.dismissed")


def alert_undismiss(*, alert: Alert, user: User) -> AlertUserState:
    return _state_set(alert=alert, user=user, field="dismissed_at", on=False, action="alert.undismissed")


def alert_unread_counts_publish(*, alert_id: int) -> int:
    """Send the fresh unread count to everyone whose count ``alert_id`` opening or closing
    moves (raise, resolve, reopen). Called by a task after the change committed; returns
    how many users were told, 0 when the alert is gone."""
    return alerts_unread_counts_publish(alert_ids=[alert_id])


def alerts_unread_counts_publish(*, alert_ids: list[int]) -> int:
    """``alert_unread_counts_publish`` for several alerts: everyone in any of their audiences
    is counted and told once (alerts raised together are mostly one team's)."""
    audience: dict[int, User] = {}
    asked: set[tuple[int, int | None]] = set()  # the audience depends on the team and the reporter only
    for alert in Alert.objects.filter(pk__in=alert_ids):
        if (alert.team_id, alert.reported_by_id) not in asked:
            asked.add((alert.team_id, alert.reported_by_id))
            audience.update((user.pk, user) for user in alert_unread_audience(alert=alert))
    for user in audience.values():
        publish_unread_count(user.pk, alert_unread_count(user=user))
    return len(audience)
