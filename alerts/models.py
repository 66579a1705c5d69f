"""Alerts, their timeline, per-user read state, and the integrations that raise them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


SEVERITY_RANK: dict[str, int] = {Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


def severity_rank_expression() -> Case:
    """Order alerts by severity in SQL (critical = 4 … low = 1)."""
    return Case(
        *[When(severity=value, then=Value(rank)) for value, rank in SEVERITY_RANK.items()],
        default=Value(0),
        output_field=IntegerField(),
    )


class AlertStatus(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


OPEN_STATUSES = (AlertStatus.TRIGGERED, AlertStatus.ACKNOWLEDGED)


class AlertSource(models.TextChoices):
    FLIGHT_EVENTS = "flight_events", "Flight events"
    PAGERDUTY = "pagerduty", "PagerDuty Events v2"
    ALERTMANAGER = "alertmanager", "Alertmanager"
    GENERIC = "generic", "Generic"
    CUSTOMER_REPORT = "customer_report", "Customer report"
    RULE = "rule", "Alert rule"
    SYSTEM = "system", "System"
    BROADCAST = "broadcast", "Broadcast"


class IntegrationKind(models.TextChoices):
    FLIGHT_EVENTS = "flight_events", "Flight events"
    PAGERDUTY = "pagerduty", "PagerDuty Events v2"
    ALERTMANAGER = "alertmanager", "Alertmanager"
    GENERIC = "generic", "Generic"


class Integration(models.Model):
    """An inbound source owned by a team. The secret token is shown once; only its
    sha256 is stored (the token carries 256 random bits, so a plain hash is enough)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="integrations")
    kind = models.CharField(max_length=20, choices=IntegrationKind.choices)
    name = models.CharField(max_length=120)
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8, blank=True, help_text="First characters of the token, for recognition")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["team_id", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Alert(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="alerts")
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    source = models.CharField(max_length=20, choices=AlertSource.choices, default=AlertSource.SYSTEM)
    type = models.CharField(
        max_length=64, db_index=True, help_text="e.g. flight_cancelled, flight_delayed, hotel_overbooked"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=14, choices=AlertStatus.choices, default=AlertStatus.TRIGGERED)
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    resource = models.CharField(
        max_length=200, blank=True, db_index=True, help_text="e.g. a flight leg UA1545-2013-01-01-EWR"
    )
    dedup_key = models.CharField(max_length=300, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_alerts"
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_alerts"
    )
    ack_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    last_occurred_at = models.DateTimeField(default=timezone.now)
    occurrences = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    affected_bookings_count = models.PositiveIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["team", "status", "severity"]),
            models.Index(fields=["team", "created_at"]),
            models.Index(fields=["assignee", "status"]),
        ]
        constraints = [
            # At most one open alert per team and dedup key: concurrent raises cannot duplicate.
            models.UniqueConstraint(
                fields=["team", "dedup_key"],
                condition=~Q(status="resolved") & ~Q(dedup_key=""),
                name="uniq_open_alert_dedup_key",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} [{self.severity}] {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AlertEventKind(models.TextChoices):
    TRIGGERED = "triggered", "Triggered"
    UPDATED = "updated", "Updated"
    SEVERITY_RAISED = "severity_raised", "Severity raised"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    UNACKNOWLEDGED = "unacknowledged", "Acknowledge undone"
    RESOLVED = "resolved", "Resolved"
    REOPENED = "reopened", "Reopened"
    ASSIGNED = "assigned", "Assigned"
    NOTE = "note", "Note"
    OUTCOME = "outcome", "Outcome recorded"
    ESCALATION = "escalation", "Escalation step"
    NOTIFIED = "notified", "Notified"
    FALLBACK = "fallback", "Fallback"


class AlertEvent(models.Model):
    """The alert's timeline: every trigger, update, assignment, ack, resolve, escalation, note."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=AlertEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["alert", "id"])]

    def __str__(self) -> str:
        return f"{self.kind} on alert #{self.alert_id}"


class AlertUserState(models.Model):
    """Per-user read/dismiss state; dismissing hides an alert for one user only."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="user_states")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_states")
    read_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="uniq_alert_user_state")]
        indexes = [models.Index(fields=["user", "alert"])]

    def __str__(self) -> str:
        return f"alert #{self.alert_id} for user #{self.user_id}"


# Ingestion models (flight events, flight status, detection rules, generic events) live in
# their own module; importing them here registers them with the alerts app.
from alerts.ingest_models import (  # noqa: E402, F401
    DetectionCondition,
    DetectionRule,
    FlightEvent,
    FlightEventType,
    FlightLegStatus,
    FlightStatus,
    GenericEvent,
)

# Operations models (SLA policies, alert rules, summaries) live in alerts/ops/models.py.
from alerts.ops.models import *  # noqa: E402, F403
