"""Reads of the escalation app: subscriptions (who gets which channel) and notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet

from accounts.models import User
from escalation.models import Channel, Notification, Subscription

# Personal notifications are the in-app ones; the other channels are deliveries of the same news.
INBOX_CHANNEL = Channel.IN_APP


def _usable(user: User, channels: Iterable[str]) -> list[str]:
    """``in_app`` first and always; email/sms only when the user has an address/number."""
    usable = [Channel.IN_APP.value]
    for channel in channels:
        if channel in usable or channel not in Channel.values or channel == Channel.WEBHOOK:
            continue
        if channel == Channel.EMAIL and not user.email:
            continue
        if channel == Channel.SMS and not user.phone:
            continue
        usable.append(channel)
    return usable


def channels_for_recipients(users: Iterable[User], *, alert_type: str, severity: str) -> dict[int, list[str]]:
    """Each user's channels for an alert of this type and severity, in one query.

    The most specific subscription wins (type and severity, then type, then severity, then
    the catch-all); without one, ``settings.ESCALATION_DEFAULT_CHANNELS``.
    """
    users = list(users)
    best: dict[int, tuple[tuple[bool, bool], list[str]]] = {}
    rows = Subscription.objects.filter(
        user__in=[user.pk for user in users], alert_type__in=[alert_type, ""], severity__in=[severity, ""]
    ).values_list("user_id", "alert_type", "severity", "channels")
    for user_id, row_type, row_severity, channels in rows:
        rank = (bool(row_type), bool(row_severity))
        if user_id not in best or rank > best[user_id][0]:
            best[user_id] = (rank, list(channels))
    default = list(settings.ESCALATION_DEFAULT_CHANNELS)
    return {user.pk: _usable(user, best[user.pk][1] if user.pk in best else default) for user in users}


def subscribed_channels(user: User, *, alert_type: str, severity: str) -> list[str]:
    return channels_for_recipients([user], alert_type=alert_type, severity=severity)[user.pk]


def subscription_list(*, user: User) -> QuerySet[Subscription]:
    return Subscription.objects.filter(user=user).order_by("alert_type", "severity")


def notifications_for_user(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's inbox: in-app notifications, unread first, then newest first."""
    qs = Notification.objects.filter(recipient=user, channel=INBOX_CHANNEL).select_related("alert")
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by(F("read_at").asc(nulls_first=True), "-id")


def notification_unread_count(*, user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id, channel=INBOX_CHANNEL, read_at__isnull=True).count()


def notification_counts_by_status(*, run_id: int) -> dict[str, int]:
    rows = Notification.objects.filter(run_id=run_id).values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def notifications_due_for_redelivery(*, before: object) -> QuerySet[Notification]:
    """Pending deliveries whose wake-up was lost: due (or never tried) before ``before``."""
    return Notification.objects.filter(status="pending").filter(
        Q(next_attempt_at__lte=before) | Q(next_attempt_at__isnull=True, created_at__lte=before)
    )
