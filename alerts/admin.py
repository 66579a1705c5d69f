"""The ops console for alerts.

Alerts are read-only here: every change goes through the lifecycle services (bulk
actions acknowledge / resolve / assign to me), so it is checked, timelined and audited
exactly like the API. Staff see the alerts of their teams (platform admins: all), and
an action on an alert needs alerts.manage on its team.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import team_ids_with_capability, user_has_capability
from alertguardian.admin_base import ReadOnlyAdmin
from alertguardian.api import ApplicationError
from alerts.exceptions import AlertStateConflict
from alerts.models import Alert, AlertEvent, AlertUserState, Integration, Severity
from alerts.selectors import alerts_visible_to
from alerts.services import alert_acknowledge, alert_assign, alert_resolve

CONSOLE_NOTE = "From the ops console"

# Colour is a hint only; the severity is always spelled out.
SEVERITY_COLOURS: dict[str, str] = {
    Severity.CRITICAL: "#b00020",
    Severity.HIGH: "#d35400",
    Severity.MEDIUM: "#b7950b",
    Severity.LOW: "#607d8b",
}


def _console_user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # the admin only lets authenticated staff in
        raise TypeError("the ops console needs an authenticated user")
    return user


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    fields = ("created_at", "kind", "actor_label", "message", "data")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ("id",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "severity_label",
        "status",
        "title",
        "team",
        "type",
        "assignee",
        "created_at",
        "age",
    )
    list_display_links = ("id", "title")
    list_filter = ("status", "severity", "source", "team", "type")
    search_fields = ("title", "message", "resource", "dedup_key")
    date_hierarchy = "created_at"
    list_select_related = ("team", "assignee")
    list_per_page = 50
    ordering = ("-id",)
    inlines = (AlertEventInline,)
    actions = ("acknowledge_selected", "resolve_selected", "assign_to_me")
    fieldsets = (
        (None, {"fields": ("team", "title", "message", "type", "severity", "status", "source", "resource")}),
        (
            "Handling",
            {
                "fields": (
                    "assignee",
                    "ack_deadline",
                    "acknowledged_at",
                    "acknowledged_by",
                    "resolved_at",
                    "resolved_by",
                    "resolution_note",
                )
            },
        ),
        (
            "Origin",
            {
                "fields": (
                    "integration",
                    "reported_by",
                    "dedup_key",
                    "occurrences",
                    "created_at",
                    "updated_at",
                    "last_occurred_at",
                    "expires_at",
                    "affected_bookings_count",
                    "metadata",
                )
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Alert._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return alerts_visible_to(user=_console_user(request)).order_by(*self.get_ordering(request))

    # The ops console follows the capability model: any staff member (agent/admin) with console
    # access sees their teams' alerts (get_queryset scopes them); no Django permission rows needed.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user  # also asked for anonymous visitors (the login page lists apps)
        return isinstance(user, User) and user.is_active and user.is_staff and user.is_staff_member

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request) or super().has_module_permission(request)

    # Alerts change only through the actions below; they are resolved, never deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        """Show the actions to staff who may manage alerts somewhere; each alert is checked again."""
        user = request.user
        return (
            isinstance(user, User)
            and user.is_staff_member
            and team_ids_with_capability(user=user, capability=caps.ALERTS_MANAGE) != []
        )

    @admin.display(description="severity", ordering="severity")
    def severity_label(self, alert: Alert) -> SafeString:
        return format_html(
            '<span style="color:{}" aria-hidden="true">&#9679;</span> <strong>{}</strong>',
            SEVERITY_COLOURS.get(alert.severity, "#000"),
            alert.get_severity_display(),
        )

    @admin.display(description="age", ordering="created_at")
    def age(self, alert: Alert) -> str:
        return timesince(alert.created_at)

    @admin.action(description="Acknowledge selected alerts", permissions=["manage"])
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        user = _console_user(request)
        self._apply(
            request,
            queryset,
            "acknowledged",
            lambda alert_id: alert_acknowledge(alert_id=alert_id, by=user, note=CONSOLE_NOTE),
        )

    @admin.action(description="Resolve selected alerts", permissions=["manage"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        user = _console_user(request)
        self._apply(
            request, queryset, "resolved", lambda alert_id: alert_resolve(alert_id=alert_id, by=user, note=CONSOLE_NOTE)
        )

    @admin.action(description="Assign selected alerts to me", permissions=["manage"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        user = _console_user(request)
        self._apply(
            request,
            queryset,
            "assigned to you",
            lambda alert_id: alert_assign(alert_id=alert_id, by=user, assignee=user),
        )

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Alert], done: str, action: Callable[[int], object]
    ) -> None:
        """Run ``action`` (one service call, its own transaction) per alert and report the outcome."""
        user = _console_user(request)
        allowed_by_team: dict[int, bool] = {}
        succeeded: list[int] = []
        conflicts: list[str] = []
        refused: list[str] = []
        for alert_id, team_id in queryset.order_by("id").values_list("id", "team_id"):
            if team_id not in allowed_by_team:
                allowed_by_team[team_id] = user_has_capability(
                    user=user, capability=caps.ALERTS_MANAGE, team_id=team_id
                )
            if not allowed_by_team[team_id]:
                refused.append(f"#{alert_id}: you need {caps.ALERTS_MANAGE} on its team")
                continue
            try:
                action(alert_id)
            except AlertStateConflict as exc:
                conflicts.append(f"#{alert_id} is {exc.details['status']}")
            except ApplicationError as exc:
                refused.append(f"#{alert_id}: {exc.message}")
            else:
                succeeded.append(alert_id)
        if succeeded:
            ids = ", ".join(f"#{pk}" for pk in succeeded)
            self.message_user(request, f"{len(succeeded)} alert(s) {done}: {ids}.", messages.SUCCESS)
        if conflicts:
            self.message_user(
                request,
                f"Not {done}, their state changed or does not allow it: {'; '.join(conflicts)}.",
                messages.WARNING,
            )
        if refused:
            self.message_user(request, f"Not {done}: {'; '.join(refused)}.", messages.ERROR)


@admin.register(Integration)
class IntegrationAdmin(ReadOnlyAdmin):
    """Integrations are created, rotated and revoked through their services (the token is shown
    once, at creation); the console only shows them. Only the token's sha256 is stored."""

    list_display = ("name", "team", "kind", "is_active", "token_hint", "created_at", "last_event_at", "revoked_at")
    list_filter = ("kind", "is_active", "team")
    search_fields = ("name", "token_hint")
    list_select_related = ("team",)
    readonly_fields = (
        "team",
        "kind",
        "name",
        "token_hint",
        "token_hash",
        "is_active",
        "created_by",
        "created_at",
        "rotated_at",
        "revoked_at",
        "last_event_at",
        "config",
    )


@admin.register(AlertUserState)
class AlertUserStateAdmin(ReadOnlyAdmin):
    list_display = ("alert", "user", "read_at", "dismissed_at")
    list_filter = ("read_at", "dismissed_at")
    search_fields = ("user__email",)
    list_select_related = ("alert", "user")
    readonly_fields = ("alert", "user", "read_at", "dismissed_at")


# The ops console (SLA policies, ops settings, alert rules, summaries) lives in alerts/ops/admin.py.
from alerts.ops import admin as ops_admin  # noqa: E402, F401
