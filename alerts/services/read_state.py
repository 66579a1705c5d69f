"""Per-user read state: an agent opening an alert marks it read for them (the unread badge)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from alertguardian.realtime import publish_on_commit, user_group
from alerts.models import Alert, AlertUserState
from audit.services import audit_record

UNREAD_CHANGED_EVENT = "alert.read"


@transaction.atomic
def alert_mark_read(*, alert: Alert, user: User) -> bool:
    """Mark ``alert`` read for ``user``; ``True`` only the first time (idempotent, race-safe).

    Only the first read is audited and published: reopening the page changes nothing.
    """
    now = timezone.now()
    state, created = AlertUserState.objects.get_or_create(alert_id=alert.pk, user_id=user.pk, defaults={"read_at": now})
    if not created and not AlertUserState.objects.filter(pk=state.pk, read_at__isnull=True).update(read_at=now):
        return False
    audit_record(actor=user, action="alert.read", target=alert, data={})
    publish_on_commit(user_group(user.pk), {"type": UNREAD_CHANGED_EVENT, "version": 1, "alert_id": alert.pk})
    return True
