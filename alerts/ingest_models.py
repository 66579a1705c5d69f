"""Models of the ingestion side: flight events, per-leg flight status, detection rules,
generic (CloudEvents) events. Imported at the end of ``alerts/models.py``."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts.models import Severity


class FlightEventType(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DELAYED = "delayed", "Delayed"
    CANCELLED = "cancelled", "Cancelled"
    REINSTATED = "reinstated", "Reinstated"
    GATE_CHANGE = "gate_change", "Gate change"
    DEPARTED = "departed", "Departed"
    ARRIVED = "arrived", "Arrived"
    DIVERTED = "diverted", "Diverted"


class FlightEvent(models.Model):
    """One event exactly as an integration sent it; (integration, event_id) is the idempotency key.

    ``applied`` is False for an event that arrived after a newer one for the same leg:
    it is kept (the record of what was sent) but changed no state.
    """

    integration = models.ForeignKey("alerts.Integration", on_delete=models.CASCADE, related_name="flight_events")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    event_type = models.CharField(max_length=20, choices=FlightEventType.choices)
    leg_key = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    applied = models.BooleanField(default=False)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "event_id"], name="uniq_flight_event_per_integration")
        ]
        indexes = [models.Index(fields=["team", "leg_key", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.leg_key} ({self.event_id})"


class FlightLegStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    DELAYED = "delayed", "Delayed"
    CANCELLED = "cancelled", "Cancelled"
    DEPARTED = "departed", "Departed"
    ARRIVED = "arrived", "Arrived"
    DIVERTED = "diverted", "Diverted"


class FlightStatus(models.Model):
    """The latest known state of one flight leg for one team (newest ``occurred_at`` wins).

    ``key`` is ``<flight_number>-<service_date>-<origin>``, e.g. ``UA1545-2013-01-01-EWR``.
    """

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="flight_statuses")
    key = models.CharField(max_length=64)
    flight_number = models.CharField(max_length=10)
    carrier = models.CharField(max_length=3, blank=True)
    service_date = models.DateField()
    origin = models.CharField(max_length=3)
    destination = models.CharField(max_length=3)
    status = models.CharField(max_length=12, choices=FlightLegStatus.choices, default=FlightLegStatus.SCHEDULED)
    scheduled_departure = models.DateTimeField(null=True, blank=True)
    scheduled_arrival = models.DateTimeField(null=True, blank=True)
    estimated_departure = models.DateTimeField(null=True, blank=True)
    estimated_arrival = models.DateTimeField(null=True, blank=True)
    actual_departure = models.DateTimeField(null=True, blank=True)
    actual_arrival = models.DateTimeField(null=True, blank=True)
    gate = models.CharField(max_length=16, blank=True)
    terminal = models.CharField(max_length=16, blank=True)
    diverted_to = models.CharField(max_length=3, blank=True)
    tail_number = models.CharField(max_length=16, blank=True)
    distance_miles = models.PositiveIntegerField(null=True, blank=True)
    reported_delay_minutes = models.IntegerField(null=True, blank=True, help_text="The sender's own figure")
    delay_minutes = models.IntegerField(
        null=True, blank=True, help_text="Departure delay computed from the times when known, else the sender's figure"
    )
    last_event_at = models.DateTimeField(null=True, blank=True, help_text="occurred_at of the newest applied event")
    last_event_type = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service_date", "scheduled_departure", "key"]
        constraints = [models.UniqueConstraint(fields=["team", "key"], name="uniq_flight_status_team_key")]
        indexes = [
            models.Index(fields=["team", "service_date", "origin"]),
            models.Index(fields=["team", "flight_number", "service_date"]),
        ]
        verbose_name_plural = "flight statuses"

    def __str__(self) -> str:
        return f"{self.key} {self.status}"


class DetectionCondition(models.TextChoices):
    CANCELLED = "cancelled", "Cancelled"
    DELAY_MINUTES = "delay_minutes", "Departure delay ≥ threshold"
    LATER_LOCAL_DAY = "later_local_day", "New departure on a later local day"
    DIVERTED = "diverted", "Diverted"
    GATE_CHANGE = "gate_change", "Gate change"
    OTHER = "other", "Other status change"


class DetectionRule(models.Model):
    """A disruption rule, stored as data because thresholds differ by regulation and team.

    ``team`` empty = a global default. A team that has any enabled rule of a condition
    replaces the global rules of that condition (e.g. its own EU261 delay bands).
    When several rules of one alert kind match, the highest severity wins (ties: lowest
    ``ordering``).
    """

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="detection_rules"
    )
    name = models.CharField(max_length=120)
    condition = models.CharField(max_length=20, choices=DetectionCondition.choices)
    threshold_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only for delay_minutes: the rule matches when the delay is at least this"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices)
    creates_alert = models.BooleanField(default=True, help_text="False: customer notification only, no agent alert")
    escalate = models.BooleanField(default=True, help_text="False: the alert is shown but never escalated")
    notify_customers = models.BooleanField(default=True)
    suggestions = models.JSONField(default=list, blank=True, help_text='Care to suggest, e.g. ["hotel", "meal"]')
    enabled = models.BooleanField(default=True)
    ordering = models.PositiveIntegerField(default=100)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["ordering", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(condition="delay_minutes") & Q(threshold_minutes__isnull=False))
                | (~Q(condition="delay_minutes") & Q(threshold_minutes__isnull=True)),
                name="detection_rule_threshold_only_for_delay",
            )
        ]

    def __str__(self) -> str:
        scope = self.team.name if self.team is not None else "global"
        return f"{self.name} ({scope})"


class GenericEvent(models.Model):
    """A CloudEvents 1.0 event from a ``generic`` integration; (integration, source, id) is idempotent."""

    integration = models.ForeignKey("alerts.Integration", on_delete=models.CASCADE, related_name="generic_events")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=500)
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=200, db_index=True)
    subject = models.CharField(max_length=300, blank=True)
    time = models.DateTimeField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "source", "event_id"], name="uniq_generic_event_source_id")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.source}/{self.event_id}"
