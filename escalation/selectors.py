"""Reads of the escalation app: subscriptions (who gets which channel) and notifications."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import F, Prefetch, Q, QuerySet

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import team_ids_with_capability, user_has_capability
from alertguardian.api import Forbidden
from alerts.filters import MAX_ID
from escalation.exceptions import PolicyNotFound, StepNotFound
from escalation.models import (
    Channel,
    EscalationPolicy,
    EscalationRun,
    EscalationStep,
    Notification,
    Subscription,
)

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


# Unread counts are badges: above this a client shows "999+". Counting stops at CAP + 1,
# because counting an agent's whole backlog made every escalation step that notified them
# slower as the backlog grew (10 ms per batch at 6,000 unread, and rising).
UNREAD_COUNT_CAP = 999


def notification_unread_count(*, user_id: int) -> int:
    """The user's unread in-app notifications, at most ``UNREAD_COUNT_CAP + 1``."""
    unread = Notification.objects.filter(recipient_id=user_id, channel=INBOX_CHANNEL, read_at__isnull=True)
    return unread[: UNREAD_COUNT_CAP + 1].count()


def notification_unread_counts(*, user_ids: set[int]) -> dict[int, int]:
    """``notification_unread_count`` for a few users (one bounded query each)."""
    return {user_id: notification_unread_count(user_id=user_id) for user_id in sorted(user_ids)}


def notifications_due_for_redelivery(*, before: object) -> QuerySet[Notification]:
    """Pending deliveries whose wake-up was lost: due (or never tried) before ``before``."""
    return Notification.objects.filter(status="pending").filter(
        Q(next_attempt_at__lte=before) | Q(next_attempt_at__isnull=True, created_at__lte=before)
    )


# --- policies and runs ------------------------------------------------------------------------


def policies_for_user(*, user: User, team_id: int | None = None) -> QuerySet[EscalationPolicy]:
    """Policies of the teams whose alerts ``user`` reads, steps prefetched in order."""
    team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
    policies = EscalationPolicy.objects.select_related("team").prefetch_related(
        Prefetch("steps", queryset=EscalationStep.objects.order_by("position"))
    )
    if team_ids is not None:
        policies = policies.filter(team_id__in=team_ids)
    if team_id is not None:
        policies = policies.filter(team_id=team_id)
    return policies.order_by("team_id", "priority", "id")


def policy_get_for_user(*, user: User, policy_id: int, manage: bool = False) -> EscalationPolicy:
    """The policy if ``user`` reads its team (else 404); with ``manage``, 403 unless they manage it."""
    policy = policies_for_user(user=user).filter(pk=policy_id).first() if 0 < policy_id <= MAX_ID else None
    if policy is None:
        raise PolicyNotFound()
    if manage and not user_has_capability(user=user, capability=caps.TEAM_MANAGE, team_id=policy.team_id):
        raise Forbidden(f"You need the {caps.TEAM_MANAGE} permission on this team.")
    return policy


def step_get(*, policy: EscalationPolicy, step_id: int) -> EscalationStep:
    step = (
        EscalationStep.objects.filter(policy=policy, pk=step_id).select_related("policy").first()
        if 0 < step_id <= MAX_ID
        else None
    )
    if step is None:
        raise StepNotFound()
    return step


def runs_for_alert(*, alert_id: int) -> QuerySet[EscalationRun]:
    return EscalationRun.objects.filter(alert_id=alert_id).order_by("-id")


def policy_with_steps(*, policy_id: int) -> EscalationPolicy:
    """A policy with its steps, for a response after a write the caller was allowed to make."""
    return EscalationPolicy.objects.prefetch_related(
        Prefetch("steps", queryset=EscalationStep.objects.order_by("position"))
    ).get(pk=policy_id)
