"""Escalation: policies (ordered steps), runs (durable timers), notifications, subscriptions.

A run never reads the live policy: it starts from ``EscalationPolicy.snapshot()`` and keeps
that copy, so editing a policy changes only runs that start afterwards. Every executed step
has a sequence number (``EscalationRun.step_seq``); a notification is unique per
(run, step_seq, recipient, channel), which is what makes a duplicated or retried task
harmless.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

DEFAULT_ACK_WINDOW_SECONDS = 300


class StepKind(models.TextChoices):
    NOTIFY_ON_DUTY = "notify_on_duty", "Notify the agents on duty"
    NOTIFY_USER = "notify_user", "Notify a user"
    NOTIFY_ROLE = "notify_role", "Notify everyone with a team role"
    WAIT = "wait", "Wait"
    REPEAT = "repeat", "Repeat from an earlier step"
    FALLBACK = "fallback", "Fallbacks for the affected bookings"
    WEBHOOK = "webhook", "Outgoing webhook"


NOTIFY_KINDS = frozenset({StepKind.NOTIFY_ON_DUTY, StepKind.NOTIFY_USER, StepKind.NOTIFY_ROLE})


class FallbackMode(models.TextChoices):
    SUGGEST = "suggest", "Suggest options"
    NOTIFY = "notify", "Tell affected customers"
    AUTO_REBOOK = "auto_rebook", "Apply the best option (auto-rebook)"


class EscalationPolicy(models.Model):
    """A team's ordered escalation steps, chosen for an alert by its routing fields.

    Routing: among the team's enabled policies whose ``match_severities`` (empty = any) and
    ``match_types`` (empty = any) both match the alert, the lowest ``priority`` wins (then the
    lowest id); if none matches, the team's default policy applies.
    """

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="escalation_policies")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Used when no other policy of the team matches.")
    match_severities = models.JSONField(
        default=list, blank=True, help_text="Severities this policy is for; empty = any."
    )
    match_types = models.JSONField(default=list, blank=True, help_text="Alert types this policy is for; empty = any.")
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower wins when several policies match.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team_id", "priority", "id"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="uniq_escalation_policy_name"),
            models.UniqueConstraint(fields=["team"], condition=Q(is_default=True), name="uniq_default_policy_per_team"),
        ]

    def __str__(self) -> str:
        return self.name

    def snapshot(self) -> dict[str, Any]:
        """What a run keeps: the policy's identity and a copy of its steps, in order."""
        return {
            "policy_id": self.pk,
            "name": self.name,
            "steps": [step.snapshot() for step in self.steps.order_by("position")],
        }


class EscalationStep(models.Model):
    """One step of a policy. Which fields matter depends on ``kind`` (validated by the services)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(help_text="0-based order within the policy.")
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    # notify_*: how long the recipients have to acknowledge before the run moves on.
    ack_window_seconds = models.PositiveIntegerField(null=True, blank=True)
    # notify_*: channels to use instead of each recipient's subscriptions (empty = subscriptions).
    channels = models.JSONField(default=list, blank=True)
    # notify_user
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # notify_role: a team role (accounts.TeamRole), e.g. "admin"
    target_role = models.CharField(max_length=16, blank=True)
    # wait
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    # repeat: go back to the step at ``repeat_to_position`` at most ``repeat_times`` times
    repeat_to_position = models.PositiveSmallIntegerField(null=True, blank=True)
    repeat_times = models.PositiveSmallIntegerField(null=True, blank=True)
    # fallback
    fallback_mode = models.CharField(max_length=12, choices=FallbackMode.choices, blank=True)
    # webhook (signed with HMAC-SHA256 of the body using webhook_secret)
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_secret = models.CharField(max_length=128, blank=True)
    webhook_timeout_seconds = models.PositiveSmallIntegerField(null=True, blank=True)
    webhook_max_attempts = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["policy_id", "position"]
        constraints = [models.UniqueConstraint(fields=["policy", "position"], name="uniq_step_position")]

    def __str__(self) -> str:
        return f"{self.policy_id}#{self.position} {self.kind}"

    def snapshot(self) -> dict[str, Any]:
        return {
            "step_id": self.pk,
            "position": self.position,
            "kind": self.kind,
            "ack_window_seconds": self.ack_window_seconds,
            "channels": list(self.channels or []),
            "target_user_id": self.target_user_id,
            "target_role": self.target_role,
            "wait_seconds": self.wait_seconds,
            "repeat_to_position": self.repeat_to_position,
            "repeat_times": self.repeat_times,
            "fallback_mode": self.fallback_mode,
            "webhook_url": self.webhook_url,
            "webhook_secret": self.webhook_secret,
            "webhook_timeout_seconds": self.webhook_timeout_seconds,
            "webhook_max_attempts": self.webhook_max_attempts,
        }


class RunStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped (acknowledged, resolved or restarted)"
    COMPLETED = "completed", "Completed (no steps left)"


class EscalationRun(models.Model):
    """The durable timer of one alert's escalation.

    ``next_run_at`` is when the current step is due; ``active_token`` changes every time the
    run moves, so a Celery message carrying an older token is recognised as stale and does
    nothing. At most one active run per alert; a restart stops the old run and creates a new one.
    """

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="escalation_runs")
    policy = models.ForeignKey(EscalationPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    policy_snapshot = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.ACTIVE)
    current_step = models.PositiveSmallIntegerField(default=0, help_text="Position of the next step to perform.")
    step_seq = models.PositiveIntegerField(default=0, help_text="How many steps this run has performed.")
    repeat_counts = models.JSONField(default=dict, blank=True, help_text="{repeat step position: times repeated}")
    next_run_at = models.DateTimeField(null=True, blank=True)
    active_token = models.CharField(max_length=32, blank=True)
    # When a sweep claimed this overdue run (sweeps side by side take disjoint runs).
    swept_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["alert"], condition=Q(status="active"), name="uniq_active_run_per_alert")
        ]
        indexes = [models.Index(fields=["status", "next_run_at"])]

    def __str__(self) -> str:
        return f"run #{self.pk} for alert #{self.alert_id} ({self.status})"


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WEBHOOK = "webhook", "Webhook"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One message to one recipient on one channel; delivered after commit, at most once.

    ``idempotency_key`` is unique: for escalation steps it is
    ``run:<run_id>:step:<step_seq>:user:<recipient_id>:<channel>`` (``...:webhook`` for a
    webhook step), so creating it twice is a no-op and a redelivered task finds it sent.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=32, default="escalation", help_text="escalation, summary, ...")
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    run = models.ForeignKey(
        EscalationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    step_seq = models.PositiveIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    target = models.CharField(max_length=500, blank=True, help_text="Address, phone number or URL at sending time.")
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "channel", "read_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["run", "step_seq"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient_id or self.target} ({self.status})"


class Subscription(models.Model):
    """Which channels a user wants for alerts of a type and severity ('' = any).

    The most specific row wins (type and severity, then type, then severity, then any);
    with no row, ``settings.ESCALATION_DEFAULT_CHANNELS`` apply. ``in_app`` is always added.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions")
    alert_type = models.CharField(max_length=64, blank=True)
    severity = models.CharField(max_length=10, blank=True)
    channels = models.JSONField(default=list)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user_id", "alert_type", "severity"]
        constraints = [
            models.UniqueConstraint(fields=["user", "alert_type", "severity"], name="uniq_subscription_scope")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.alert_type or '*'}/{self.severity or '*'} → {','.join(self.channels)}"
