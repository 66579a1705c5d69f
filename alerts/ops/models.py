"""Operations data: team thresholds, SLA policies and their firings, custom alert rules,
threshold-rule firings and daily summaries.

Imported at the bottom of ``alerts/models.py`` so the models belong to the ``alerts`` app.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from alerts.models import Severity

__all__ = [
    "AlertRule",
    "AlertRuleKind",
    "DailySummary",
    "RuleFiring",
    "SlaEvent",
    "SlaKind",
    "SlaPolicy",
    "SlaStage",
    "SummaryKind",
    "TeamOpsSettings",
]


class TeamOpsSettings(models.Model):
    """A team's operational thresholds. Teams without a row use the field defaults."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="ops_settings")
    summary_enabled = models.BooleanField(default=True)
    summary_time = models.TimeField(
        default=time(8, 0), help_text="Local time (the team's time zone) at which the daily summary is built"
    )
    summary_subscribers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="ops_summary_subscriptions",
        help_text="Staff who receive the daily summary by email",
    )
    workload_threshold = models.PositiveIntegerField(
        default=10,
        validators=[MinValueValidator(1)],
        help_text="An agent with more open assigned alerts than this alerts the team admins",
    )
    unassigned_minutes = models.PositiveIntegerField(
        default=15,
        validators=[MinValueValidator(1)],
        help_text="A high/critical alert nobody took for this long raises an alert",
    )
    retention_days = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Resolved/expired alerts older than this are removed by the retention job",
    )
    payment_failed_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.HIGH)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "team ops settings"
        verbose_name_plural = "team ops settings"

    def __str__(self) -> str:
        return f"ops settings of team #{self.team_id}"


class SlaPolicy(models.Model):
    """How fast a team must acknowledge and resolve alerts of one severity.

    Deadlines run from the alert's ``created_at``. An open alert inside the buffer before
    a deadline is "at risk" (a medium alert); past it, "breached" (a critical alert).
    """

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="sla_policies")
    severity = models.CharField(max_length=10, choices=Severity.choices)
    ack_within_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: no acknowledge SLA"
    )
    resolve_within_minutes = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: no resolve SLA"
    )
    at_risk_buffer_minutes = models.PositiveIntegerField(
        default=15, help_text="Warn this long before a deadline (0: no at-risk warning)"
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team_id", "severity"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [models.UniqueConstraint(fields=["team", "severity"], name="uniq_sla_policy_team_severity")]

    def __str__(self) -> str:
        return f"SLA {self.severity} of team #{self.team_id}"


class SlaKind(models.TextChoices):
    ACK = "ack", "Acknowledge"
    RESOLVE = "resolve", "Resolve"
    # The team's "unassigned for more than X minutes" threshold, recorded the same way.
    ASSIGN = "assign", "Assign"


class SlaStage(models.TextChoices):
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"


class SlaEvent(models.Model):
    """One deadline crossing of one alert. Unique per (alert, kind, stage), so the periodic
    check can run any number of times (or concurrently) and fires once."""

    alert = models.ForeignKey("alerts.Alert", on_delete=models.CASCADE, related_name="sla_events")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=SlaKind.choices)
    stage = models.CharField(max_length=10, choices=SlaStage.choices)
    deadline = models.DateTimeField()
    raised_alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = "SLA event"
        constraints = [
            models.UniqueConstraint(fields=["alert", "kind", "stage"], name="uniq_sla_event_alert_kind_stage")
        ]
        indexes = [models.Index(fields=["team", "stage", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.stage} for alert #{self.alert_id}"


class AlertRuleKind(models.TextChoices):
    EVENT = "event", "Event"
    THRESHOLD = "threshold", "Threshold"
    TIME = "time", "Time"


class AlertRule(models.Model):
    """A team's custom rule. ``definition`` follows ``alerts.ops.schemas`` for its kind;
    ``state`` is the engine's bookkeeping (the threshold rules' alert cursor)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=AlertRuleKind.choices)
    enabled = models.BooleanField(default=True)
    definition = models.JSONField(default=dict)
    state = models.JSONField(default=dict, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True, help_text="Time rules: the next scheduled run")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    fire_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team_id", "name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="uniq_alert_rule_team_name")]
        indexes = [
            models.Index(fields=["kind", "enabled", "next_run_at"]),
            models.Index(fields=["team", "kind", "enabled"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class RuleFiring(models.Model):
    """A threshold rule crossing for one group in one window, or one run of a time rule.
    Unique per (rule, group, window start): a window fires once."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="firings")
    group_key = models.CharField(max_length=200, blank=True)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "group_key", "window_start"], name="uniq_rule_firing_window")
        ]

    def __str__(self) -> str:
        return f"rule #{self.rule_id} {self.group_key or '*'} @ {self.window_start:%Y-%m-%d %H:%M}"


class SummaryKind(models.TextChoices):
    DAILY = "daily", "Daily (team settings)"
    RULE = "rule", "Time rule"


class DailySummary(models.Model):
    """A team's operations summary for a period: alerts by severity and type, mean times to
    acknowledge and resolve, SLA breaches, top disrupted airports (see ``summaries``)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="daily_summaries")
    kind = models.CharField(max_length=10, choices=SummaryKind.choices, default=SummaryKind.DAILY)
    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="summaries")
    date = models.DateField(help_text="Local date (team time zone) of the end of the period")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    data = models.JSONField(default=dict)
    emailed_to = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "daily summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["team", "date"], condition=Q(kind="daily"), name="uniq_daily_summary_team_date"
            )
        ]
        indexes = [models.Index(fields=["team", "date"])]

    def __str__(self) -> str:
        return f"summary of team #{self.team_id} for {self.date}"
