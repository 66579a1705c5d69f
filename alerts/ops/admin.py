"""Ops console (Django admin) for SLA policies, team ops settings, alert rules, SLA events,
rule firings and summaries. Changes go through ``alerts.ops.services`` (audited)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from accounts.selectors import team_staff
from alertguardian.api import InvalidInput
from alerts.ops import services
from alerts.ops.models import AlertRule, AlertRuleKind, DailySummary, RuleFiring, SlaEvent, SlaPolicy, TeamOpsSettings
from alerts.ops.rules import rule_definition_errors, threshold_rule_evaluate


def _by(request: HttpRequest) -> User:
    return cast(User, request.user)  # the admin only lets staff users in


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "team",
            "severity",
            "ack_within_minutes",
            "resolve_within_minutes",
            "at_risk_buffer_minutes",
            "enabled",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        probe = SlaPolicy(
            ack_within_minutes=cleaned.get("ack_within_minutes"),
            resolve_within_minutes=cleaned.get("resolve_within_minutes"),
            at_risk_buffer_minutes=cleaned.get("at_risk_buffer_minutes") or 0,
        )
        try:
            services.sla_policy_validate(probe)
        except InvalidInput as exc:
            for name, problems in exc.details.items():
                self.add_error(None if name == "non_field_errors" else name, problems)
        return cleaned


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "team",
        "severity",
        "ack_within_minutes",
        "resolve_within_minutes",
        "at_risk_buffer_minutes",
        "enabled",
        "updated_at",
    ]
    list_filter = ["severity", "enabled", "team"]
    search_fields = ["team__name"]
    list_select_related = ["team"]

    def get_readonly_fields(self, request: HttpRequest, obj: SlaPolicy | None = None) -> list[str]:
        return ["team", "severity"] if obj else []

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form: forms.ModelForm, change: bool) -> None:
        fields: dict[str, Any] = {
            name: form.cleaned_data[name] for name in services.SLA_EDITABLE if name in form.cleaned_data
        }
        if change:
            saved = services.sla_policy_update(policy_id=obj.pk, by=_by(request), **fields)
        else:
            saved = services.sla_policy_create(team=obj.team, by=_by(request), severity=obj.severity, **fields)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: SlaPolicy) -> None:
        services.sla_policy_delete(policy_id=obj.pk, by=_by(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SlaPolicy]) -> None:
        for policy_id in queryset.values_list("pk", flat=True):
            services.sla_policy_delete(policy_id=policy_id, by=_by(request))


class TeamOpsSettingsForm(forms.ModelForm):
    class Meta:
        model = TeamOpsSettings
        fields = [
            "team", "summary_enabled", "summary_time", "summary_subscribers", "workload_threshold",
            "unassigned_minutes", "retention_days", "payment_failed_severity",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        team = cleaned.get("team") or getattr(self.instance, "team", None)
        subscribers = cleaned.get("summary_subscribers")
        if team is not None and subscribers is not None:
            staff = set(team_staff(team_id=team.pk).values_list("pk", flat=True))
            outsiders = [user.email for user in subscribers if user.pk not in staff]
            if outsiders:
                self.add_error("summary_subscribers", f"not staff of {team}: {', '.join(outsiders)}")
        return cleaned


@admin.register(TeamOpsSettings)
class TeamOpsSettingsAdmin(admin.ModelAdmin):
    form = TeamOpsSettingsForm
    list_display = [
        "team",
        "summary_enabled",
        "summary_time",
        "workload_threshold",
        "unassigned_minutes",
        "retention_days",
        "updated_at",
    ]
    list_filter = ["summary_enabled"]
    search_fields = ["team__name"]
    filter_horizontal = ["summary_subscribers"]
    list_select_related = ["team"]

    def get_readonly_fields(self, request: HttpRequest, obj: TeamOpsSettings | None = None) -> list[str]:
        return ["team"] if obj else []

    def save_model(self, request: HttpRequest, obj: TeamOpsSettings, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in services.SETTINGS_EDITABLE if name in data}
        subscribers = [user.pk for user in data.get("summary_subscribers", [])]
        saved = services.team_ops_settings_update(
            team=obj.team, by=_by(request), summary_subscriber_ids=subscribers, **fields
        )
        obj.pk = saved.pk

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        """Subscribers were set by the service in ``save_model``."""


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["team", "name", "description", "kind", "enabled", "definition"]
        help_texts = {"definition": "JSON; see /api/v1/alert-rules/schema and alerts/ops/schemas.py"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind") or getattr(self.instance, "kind", None)
        if kind and "definition" in cleaned:
            errors = rule_definition_errors(kind, cleaned["definition"])
            if errors:
                self.add_error("definition", [f"{path}: {'; '.join(problems)}" for path, problems in errors.items()])
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = [
        "name",
        "team",
        "kind",
        "enabled",
        "fire_count",
        "last_fired_at",
        "last_run_at",
        "next_run_at",
        "has_error",
    ]
    list_filter = ["kind", "enabled", "team"]
    search_fields = ["name", "description", "team__name"]
    date_hierarchy = "created_at"
    list_select_related = ["team"]
    readonly_fields = [
        "state",
        "next_run_at",
        "last_run_at",
        "last_fired_at",
        "fire_count",
        "last_error",
        "created_by",
        "created_at",
        "updated_at",
    ]
    actions = ["enable_rules", "disable_rules", "evaluate_now"]

    @admin.display(boolean=True, description="error")
    def has_error(self, obj: AlertRule) -> bool:
        return bool(obj.last_error)

    def get_readonly_fields(self, request: HttpRequest, obj: AlertRule | None = None) -> list[str]:
        return [*self.readonly_fields, "team", "kind"] if obj else list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: AlertRule, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changes = {name: data[name] for name in services.RULE_EDITABLE if name in data}
            saved = services.alert_rule_update(rule_id=obj.pk, by=_by(request), **changes)
        else:
            saved = services.alert_rule_create(
                team=data["team"], by=_by(request), name=data["name"], kind=data["kind"],
                definition=data["definition"], enabled=data["enabled"], description=data.get("description", ""),
            )  # fmt: skip
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        services.alert_rule_delete(rule_id=obj.pk, by=_by(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule_id in queryset.values_list("pk", flat=True):
            services.alert_rule_delete(rule_id=rule_id, by=_by(request))

    @admin.action(description="Enable selected rules")
    def enable_rules(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule_id in queryset.values_list("pk", flat=True):
            services.alert_rule_update(rule_id=rule_id, by=_by(request), enabled=True)

    @admin.action(description="Disable selected rules")
    def disable_rules(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for rule_id in queryset.values_list("pk", flat=True):
            services.alert_rule_update(rule_id=rule_id, by=_by(request), enabled=False)

    @admin.action(description="Evaluate selected threshold rules now")
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        fired = sum(
            threshold_rule_evaluate(rule_id=rule_id)
            for rule_id in queryset.filter(kind=AlertRuleKind.THRESHOLD).values_list("pk", flat=True)
        )
        self.message_user(request, f"{fired} window(s) fired.", messages.INFO)


@admin.register(SlaEvent)
class SlaEventAdmin(_ReadOnlyAdmin):
    list_display = ["id", "alert", "team", "kind", "stage", "deadline", "raised_alert", "created_at"]
    list_filter = ["kind", "stage", "team"]
    search_fields = ["alert__title", "=alert__id"]
    date_hierarchy = "created_at"
    list_select_related = ["alert", "team", "raised_alert"]
    raw_id_fields = ["alert", "raised_alert"]


@admin.register(RuleFiring)
class RuleFiringAdmin(_ReadOnlyAdmin):
    list_display = ["id", "rule", "group_key", "window_start", "window_end", "count", "alert", "created_at"]
    list_filter = ["rule__kind", "rule"]
    search_fields = ["group_key", "rule__name"]
    date_hierarchy = "window_start"
    list_select_related = ["rule", "alert"]
    raw_id_fields = ["alert"]


@admin.register(DailySummary)
class DailySummaryAdmin(_ReadOnlyAdmin):
    list_display = ["date", "team", "kind", "alerts_created", "sla_breaches", "emailed_to", "created_at"]
    list_filter = ["kind", "team"]
    search_fields = ["team__name"]
    date_hierarchy = "date"
    list_select_related = ["team"]

    @admin.display(description="alerts created")
    def alerts_created(self, obj: DailySummary) -> int:
        return int(obj.data.get("alerts", {}).get("created", 0))

    @admin.display(description="SLA breaches")
    def sla_breaches(self, obj: DailySummary) -> int:
        return int(obj.data.get("sla_breaches", {}).get("total", 0))
