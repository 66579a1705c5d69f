"""Ops console for the ingestion side. Imported by ``AlertsConfig.ready`` (``alerts/admin.py``
belongs to the alert lifecycle). Detection rules are edited here through their services
(validated and audited); events and flight legs are read-only records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from alertguardian.admin_base import ReadOnlyAdmin
from alerts.models import DetectionRule, FlightEvent, FlightStatus, GenericEvent
from alerts.services.detection_rules import (
    EDITABLE_FIELDS,
    detection_rule_create,
    detection_rule_delete,
    detection_rule_update,
)


@admin.register(DetectionRule)
class DetectionRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "team",
        "condition",
        "threshold_minutes",
        "severity",
        "creates_alert",
        "escalate",
        "enabled",
        "ordering",
    )
    list_filter = ("condition", "severity", "enabled", "team")
    list_editable = ("enabled",)
    fields = ("team", *EDITABLE_FIELDS)
    ordering = ("team", "ordering", "id")

    def save_model(self, request: HttpRequest, obj: DetectionRule, form: Any, change: bool) -> None:
        values = {name: getattr(obj, name) for name in EDITABLE_FIELDS}
        if change:
            saved = detection_rule_update(rule_id=obj.pk, by=request.user, **values)  # type: ignore[arg-type]
        else:
            saved = detection_rule_create(team=obj.team, by=request.user, **values)  # type: ignore[arg-type]
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: DetectionRule) -> None:
        detection_rule_delete(rule_id=obj.pk, by=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DetectionRule]) -> None:
        for rule_id in queryset.values_list("pk", flat=True):
            detection_rule_delete(rule_id=rule_id, by=request.user)  # type: ignore[arg-type]


@admin.register(FlightStatus)
class FlightStatusAdmin(ReadOnlyAdmin):
    list_display = ("key", "team", "status", "delay_minutes", "scheduled_departure", "gate", "last_event_at")
    list_filter = ("status", "origin", "service_date", "team")
    search_fields = ("key", "flight_number")
    date_hierarchy = "service_date"


@admin.register(FlightEvent)
class FlightEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "event_type", "leg_key", "occurred_at", "received_at", "applied", "integration")
    list_filter = ("event_type", "applied")
    search_fields = ("event_id", "leg_key")
    list_select_related = ("integration",)


@admin.register(GenericEvent)
class GenericEventAdmin(ReadOnlyAdmin):
    list_display = ("type", "source", "event_id", "subject", "received_at", "alert", "integration")
    list_filter = ("type",)
    search_fields = ("event_id", "subject", "source")
