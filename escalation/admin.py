"""Ops console for escalation: policies with ordered inline steps (saved through the services,
so every change is validated as a whole and audited), runs, notifications and subscriptions
(read-only: runs move only through the engine, subscriptions through their owner's API)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import User
from alertguardian.api import InvalidInput
from escalation.models import EscalationPolicy, EscalationRun, EscalationStep, Notification, Subscription
from escalation.services import policies as services
from escalation.services.notifications import notification_retry


def _by(request: HttpRequest) -> User:
    return cast(User, request.user)


class StepInlineFormSet(forms.BaseInlineFormSet):
    def ordered_steps(self) -> list[dict[str, Any]]:
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("kind")
        ]
        rows.sort(key=lambda row: int(row["position"]) if row.get("position") is not None else 10_000)
        return [
            {
                **{name: row.get(name) for name in services.STEP_FIELDS},
                "kind": row["kind"],
                "target_user": row["target_user"].pk if row.get("target_user") else None,
                "channels": row.get("channels") or [],
            }
            for row in rows
        ]

    def clean(self) -> None:
        super().clean()
        team = getattr(self.instance, "team", None) if self.instance.team_id else None
        if team is None or any(form.errors for form in self.forms):
            return
        try:
            services.steps_normalise(team=team, steps=self.ordered_steps())
        except InvalidInput as exc:
            raise ValidationError(
                [f"{field}: {'; '.join(problems)}" for field, problems in exc.details.items()]
            ) from exc


class StepInline(admin.TabularInline):
    model = EscalationStep
    formset = StepInlineFormSet
    extra = 1
    ordering = ["position"]
    fields = [
        "position",
        "kind",
        "ack_window_seconds",
        "channels",
        "target_user",
        "target_role",
        "wait_seconds",
        "repeat_to_position",
        "repeat_times",
        "fallback_mode",
        "webhook_url",
        "webhook_timeout_seconds",
        "webhook_max_attempts",
    ]
    autocomplete_fields = ["target_user"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class PolicyForm(forms.ModelForm):
    class Meta:
        model = EscalationPolicy
        fields = ["team", "name", "description", "is_default", "match_severities", "match_types", "priority", "enabled"]

    def validate_unique(self) -> None:
        # The services move the team's default from the old policy to this one, so the
        # one-default constraint is theirs to keep; the unique name is checked here.
        exclude = self._get_validation_exclusions() | {"is_default"}  # type: ignore[attr-defined]
        try:
            self.instance.validate_unique(exclude=exclude)
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    inlines = [StepInline]
    list_display = ["name", "team", "is_default", "priority", "enabled", "step_count", "updated_at"]
    list_filter = ["enabled", "is_default", "team"]
    search_fields = ["name", "team__name"]
    list_select_related = ["team"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationPolicy]:
        return super().get_queryset(request).annotate(step_total=Count("steps"))

    @admin.display(description="steps", ordering="step_total")
    def step_count(self, obj: EscalationPolicy) -> int:
        return int(getattr(obj, "step_total", 0))

    def get_readonly_fields(self, request: HttpRequest, obj: EscalationPolicy | None = None) -> list[str]:
        return ["team"] if obj else []

    def save_model(self, request: HttpRequest, obj: EscalationPolicy, form: forms.ModelForm, change: bool) -> None:
        """Written in ``save_related`` together with the steps, through the services."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        (step_formset,) = [fs for fs in formsets if isinstance(fs, StepInlineFormSet)]
        data = {name: form.cleaned_data[name] for name in services.POLICY_FIELDS if name in form.cleaned_data}
        data["steps"] = step_formset.ordered_steps()
        if change:
            policy, secrets = services.policy_update(policy=form.instance, by=_by(request), data=data)
        else:
            policy, secrets = services.policy_create(team=form.cleaned_data["team"], by=_by(request), data=data)
            form.instance.pk = policy.pk
        # The formset was not saved (the service wrote the steps); the change message reads these.
        step_formset.new_objects, step_formset.changed_objects, step_formset.deleted_objects = [], [], []
        for step_id, secret in secrets.items():
            messages.info(request, f"Webhook secret of step #{step_id} (shown once): {secret}")

    def delete_model(self, request: HttpRequest, obj: EscalationPolicy) -> None:
        services.policy_delete(policy=obj, by=_by(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[EscalationPolicy]) -> None:
        for policy in queryset:
            services.policy_delete(policy=policy, by=_by(request))


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EscalationRun)
class EscalationRunAdmin(_ReadOnlyAdmin):
    list_display = [
        "id",
        "alert_link",
        "status",
        "current_step",
        "step_seq",
        "next_run_at",
        "started_at",
        "stop_reason",
    ]
    list_filter = ["status"]
    search_fields = ["alert__title", "=alert__id"]
    date_hierarchy = "started_at"
    list_select_related = ["alert"]

    @admin.display(description="alert")
    def alert_link(self, run: EscalationRun) -> str:
        url = reverse("admin:alerts_alert_change", args=[run.alert_id])
        return format_html('<a href="{}">#{} {}</a>', url, run.alert_id, run.alert.title[:60])


@admin.register(Notification)
class NotificationAdmin(_ReadOnlyAdmin):
    list_display = ["id", "channel", "recipient", "target", "title", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["title", "recipient__email", "target", "idempotency_key"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    actions = ["retry_now"]

    @admin.action(description="Retry the selected failed deliveries")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        failed = list(queryset.filter(status="failed").values_list("pk", flat=True))
        for notification_id in failed:
            notification_retry(notification_id=notification_id, by=_by(request))
        self.message_user(request, f"{len(failed)} deliveries queued again.", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(_ReadOnlyAdmin):
    list_display = ["user", "alert_type", "severity", "channels", "updated_at"]
    search_fields = ["user__email", "alert_type"]
    list_filter = ["severity"]
    list_select_related = ["user"]
