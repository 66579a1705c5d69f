"""Notifications: created idempotently inside the caller's transaction, delivered after commit.

Guarantees (architecture.md, reliability rules):
- one row per idempotency key — a step that runs twice, or two racing creators, make one row;
- delivery starts only after the creating transaction commits (``on_commit``), so a rolled-back
  step sends nothing;
- a delivery task locks the row; if it is already ``sent`` or ``failed`` it does nothing, so a
  duplicated or redelivered Celery message never sends twice;
- a failing channel is retried with exponential backoff up to ``max_attempts``, then marked
  ``failed`` with a timeline entry — the run has already moved on, nothing waits on delivery;
- a lost wake-up is found by ``notifications_redeliver`` (a periodic job).

The one gap no database can close: if the process dies after the SMTP server / SMS gateway /
webhook accepted the message but before our commit, the retry sends it again (at-least-once on
the wire). Webhooks carry an ``Idempotency-Key`` header so receivers can drop the repeat.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from alerts.models import Alert, AlertEventKind
from alerts.services import alert_event_add
from audit.services import AuditActor, audit_record
from escalation.delivery.channels import SENDERS
from escalation.events import publish_notifications_created, publish_notifications_read
from escalation.exceptions import NotificationNotFound
from escalation.models import Channel, EscalationRun, Notification, NotificationStatus
from escalation.selectors import (
    notification_unread_count,
    notification_unread_counts,
    notifications_due_for_redelivery,
)

logger = logging.getLogger(__name__)

DELIVERY_ACTOR = AuditActor(label="notification delivery")
BACKOFF_BASE_SECONDS = 2
BACKOFF_CAP_SECONDS = 300
DEFAULT_MAX_ATTEMPTS = 5
# A pending delivery this much past its due time lost its wake-up message.
REDELIVERY_GRACE = timedelta(seconds=30)


def backoff_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 2 s, 4 s, 8 s … capped at 5 minutes."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def _default_target(recipient: User | None, channel: str) -> str:
    if recipient is None:
        return ""
    if channel == Channel.EMAIL:
        return recipient.email
    if channel == Channel.SMS:
        return recipient.phone
    return ""


@dataclass(frozen=True)
class NotificationSpec:
    """One notification to create (see ``notifications_create``)."""

    recipient: User | None
    channel: str
    key: str
    title: str
    body: str = ""
    alert: Alert | None = None
    run: EscalationRun | None = None
    step_seq: int | None = None
    kind: str = "escalation"
    target: str = ""
    data: dict[str, Any] | None = None
    max_attempts: int | None = None

    def row(self, now: datetime) -> Notification:
        in_app = self.channel == Channel.IN_APP
        return Notification(
            recipient=self.recipient,
            channel=self.channel,
            kind=self.kind,
            alert=self.alert,
            run=self.run,
            step_seq=self.step_seq,
            idempotency_key=self.key,
            target=self.target or _default_target(self.recipient, self.channel),
            title=self.title[:300],
            body=self.body,
            data=self.data or {},
            max_attempts=self.max_attempts or DEFAULT_MAX_ATTEMPTS,
            created_at=now,
            status=NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
            attempts=1 if in_app else 0,
            sent_at=now if in_app else None,
            next_attempt_at=None if in_app else now,
        )


def notifications_create_many(specs: list[NotificationSpec]) -> list[Notification]:
    """Create each spec's notification once; returns the rows in the order of ``specs``
    (existing ones for keys created before, by this call or a racing one).

    Runs in the caller's transaction: one ``INSERT … ON CONFLICT DO NOTHING`` for all, one
    ``SELECT`` back by key. ``in_app`` rows are stored as sent and pushed live on commit; the
    other channels are handed to the delivery task on commit.
    """
    if not specs:
        return []
    now = timezone.now()
    Notification.objects.bulk_create([spec.row(now) for spec in specs], ignore_conflicts=True)
    by_key = {
        row.idempotency_key: row for row in Notification.objects.filter(idempotency_key__in=[s.key for s in specs])
    }
    rows = [by_key[spec.key] for spec in specs]
    # Rows this call inserted carry its timestamp; a key that existed keeps its own (and its delivery).
    fresh = [row for row in rows if row.created_at == now]
    inbox = [row for row in fresh if row.channel == Channel.IN_APP and row.recipient_id is not None]
    if inbox:
        unread = notification_unread_counts(user_ids={row.recipient_id for row in inbox if row.recipient_id})
        publish_notifications_created([(row, unread.get(row.recipient_id or 0, 0)) for row in inbox])
    for row in fresh:
        if row.channel != Channel.IN_APP:
            _schedule_delivery(row.pk)
    return rows


def notifications_create(**fields: Any) -> Notification:
    """One notification, created once per ``key`` (a second call returns the first row).
    Takes ``NotificationSpec``'s fields."""
    return notifications_create_many([NotificationSpec(**fields)])[0]


def _schedule_delivery(notification_id: int, eta: datetime | None = None) -> None:
    from escalation.tasks import deliver_notification

    # robust: with the broker down the row stays pending and notifications_redeliver picks it up.
    transaction.on_commit(
        lambda: deliver_notification.apply_async(kwargs={"notification_id": notification_id}, eta=eta), robust=True
    )


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """One delivery attempt; returns what happened (``sent``, ``retry``, ``failed``, ``skipped``)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("run", "alert")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.status != NotificationStatus.PENDING:
            return "skipped"  # gone, or a duplicate message after the delivery was settled
        now = now or timezone.now()
        if notification.next_attempt_at and notification.next_attempt_at > now + timedelta(seconds=1):
            return "skipped"  # an early duplicate; the scheduled attempt (or the redelivery job) comes later
        notification.attempts += 1
        sender = SENDERS.get(notification.channel)
        try:
            if sender is None:
                raise ValueError(f"no sender for channel {notification.channel!r}")
            # Sent while the row is locked: a concurrent duplicate waits here and then finds it sent.
            sender(notification)
        except Exception as exc:  # any channel failure is retried, never allowed to stall the caller
            logger.warning("notification %s via %s failed: %s", notification.pk, notification.channel, exc)
            return _record_failure(notification, error=str(exc) or exc.__class__.__name__, now=now)
        notification.status = NotificationStatus.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        notification.save(update_fields=["status", "sent_at", "attempts", "next_attempt_at"])
        _timeline(notification, outcome="sent")
        audit_record(
            actor=DELIVERY_ACTOR, action="notification.sent", target=notification, data=_audit_data(notification)
        )
        return "sent"


def _record_failure(notification: Notification, *, error: str, now: datetime) -> str:
    notification.last_error = error[:2000]
    if notification.attempts >= notification.max_attempts:
        notification.status = NotificationStatus.FAILED
        notification.failed_at = now
        notification.next_attempt_at = None
        notification.save(update_fields=["status", "failed_at", "attempts", "last_error", "next_attempt_at"])
        _timeline(notification, outcome="failed")
        audit_record(
            actor=DELIVERY_ACTOR, action="notification.failed", target=notification, data=_audit_data(notification)
        )
        return "failed"
    notification.next_attempt_at = now + backoff_delay(notification.attempts)
    notification.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    _schedule_delivery(notification.pk, eta=notification.next_attempt_at)
    return "retry"


def _audit_data(notification: Notification) -> dict[str, Any]:
    return {
        "channel": notification.channel,
        "recipient_id": notification.recipient_id,
        "alert_id": notification.alert_id,
        "attempts": notification.attempts,
        "error": notification.last_error,
    }


def _timeline(notification: Notification, *, outcome: str) -> None:
    if notification.alert is None:
        return
    who = notification.recipient.email if notification.recipient else notification.target
    verb = "Notified" if outcome == "sent" else "Could not notify"
    message = f"{verb} {who} by {notification.get_channel_display()}"
    if outcome == "failed":
        message += f" after {notification.attempts} attempts: {notification.last_error}"
    alert_event_add(
        alert=notification.alert,
        kind=AlertEventKind.NOTIFIED,
        actor=DELIVERY_ACTOR,
        message=message,
        data={
            "notification_id": notification.pk,
            "channel": notification.channel,
            "recipient_id": notification.recipient_id,
            "outcome": outcome,
            "attempts": notification.attempts,
            "run_id": notification.run_id,
            "step_seq": notification.step_seq,
        },
    )


def notifications_redeliver(*, now: datetime | None = None, limit: int = 500) -> int:
    """Re-enqueue pending deliveries whose wake-up message was lost (broker restart, crash)."""
    from escalation.tasks import deliver_notification

    before = (now or timezone.now()) - REDELIVERY_GRACE
    ids = list(notifications_due_for_redelivery(before=before).order_by("id").values_list("pk", flat=True)[:limit])
    for notification_id in ids:
        deliver_notification.delay(notification_id=notification_id)
    return len(ids)


@transaction.atomic
def notification_retry(*, notification_id: int, by: User) -> Notification:
    """An operator retries a failed delivery: pending again, attempts reset."""
    notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
    if notification is None:
        raise NotificationNotFound()
    if notification.status != NotificationStatus.FAILED:
        return notification
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    notification.failed_at = None
    notification.next_attempt_at = timezone.now()
    notification.save(update_fields=["status", "attempts", "failed_at", "next_attempt_at"])
    audit_record(actor=by, action="notification.retried", target=notification, data={"channel": notification.channel})
    _schedule_delivery(notification.pk)
    return notification


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    notification = Notification.objects.filter(pk=notification_id, recipient=user, channel=Channel.IN_APP).first()
    if notification is None:
        raise NotificationNotFound()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
        publish_notifications_read(user.pk, [notification.pk], unread=notification_unread_count(user_id=user.pk))
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: User) -> int:
    unread = Notification.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True)
    ids = list(unread.values_list("pk", flat=True))
    if ids:
        Notification.objects.filter(pk__in=ids).update(read_at=timezone.now())
        publish_notifications_read(user.pk, ids, unread=0)
    return len(ids)
