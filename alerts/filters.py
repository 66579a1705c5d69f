"""Query-string filters for the alert list: validated at the edge, applied in the selector.

``AlertFilterSerializer`` turns ``request.query_params`` into typed values (unknown enum
values, bad dates or booleans → 400 naming the parameter); ``alert_filters_apply``
narrows a queryset that ``alerts.selectors`` has already restricted to what the user
may see and annotated with the user's own read/dismiss state.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import User
from alerts.models import Alert, AlertStatus, Severity

MAX_ID = 2**63 - 1  # bigint primary keys: larger ids cannot exist (and PostgreSQL would refuse them)


class CsvMultipleChoiceField(serializers.MultipleChoiceField):
    """A repeatable query parameter that also accepts comma-separated values:
    ``?status=triggered&status=acknowledged`` or ``?status=triggered,acknowledged``."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, list | tuple):
            data = [part.strip() for item in data for part in str(item).split(",") if part.strip()]
        return super().to_internal_value(data)


class QueryBooleanField(serializers.BooleanField):
    """A boolean that is ``None`` when absent (DRF's form-style default would be ``False``)."""

    default_empty_html = empty


class AlertFilterSerializer(serializers.Serializer):
    status = CsvMultipleChoiceField(choices=AlertStatus.choices, required=False, help_text="Repeatable.")
    severity = CsvMultipleChoiceField(choices=Severity.choices, required=False, help_text="Repeatable.")
    type = serializers.CharField(required=False, max_length=64, help_text="Exact alert type, e.g. flight_cancelled.")
    team = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Team id.")
    assigned = serializers.ChoiceField(choices=[("me", "Assigned to me"), ("none", "Unassigned")], required=False)
    unread = QueryBooleanField(
        required=False, allow_null=True, default=None, help_text="true: not read by me; false: read by me."
    )
    include_dismissed = QueryBooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Alerts I dismissed are left out unless this is true.",
    )
    created_since = serializers.DateTimeField(required=False, help_text="ISO 8601; inclusive.")
    created_until = serializers.DateTimeField(required=False, help_text="ISO 8601; inclusive.")
    search = serializers.CharField(
        required=False, max_length=200, help_text="Case-insensitive match in title, message or resource."
    )

    class Meta:
        ref_name = "AlertFilter"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("created_since"), attrs.get("created_until")
        if since and until and since > until:
            raise serializers.ValidationError({"created_until": ["Must not be before created_since."]})
        return attrs


def alert_filters_apply(queryset: QuerySet[Alert], *, user: User, filters: dict[str, Any]) -> QuerySet[Alert]:
    """Narrow ``queryset`` (annotated with ``my_read_at`` / ``my_dismissed_at``) by validated filters."""
    if filters.get("status"):
        queryset = queryset.filter(status__in=filters["status"])
    if filters.get("severity"):
        queryset = queryset.filter(severity__in=filters["severity"])
    if filters.get("type"):
        queryset = queryset.filter(type=filters["type"])
    if filters.get("team"):
        queryset = queryset.filter(team_id=filters["team"])
    if filters.get("assigned") == "me":
        queryset = queryset.filter(assignee_id=user.pk)
    elif filters.get("assigned") == "none":
        queryset = queryset.filter(assignee__isnull=True)
    # Q() because the annotations are invisible to the type checker's field lookup.
    if filters.get("unread") is True:
        queryset = queryset.filter(Q(my_read_at__isnull=True))
    elif filters.get("unread") is False:
        queryset = queryset.filter(Q(my_read_at__isnull=False))
    if not filters.get("include_dismissed"):
        queryset = queryset.filter(Q(my_dismissed_at__isnull=True))
    if filters.get("created_since"):
        queryset = queryset.filter(created_at__gte=filters["created_since"])
    if filters.get("created_until"):
        queryset = queryset.filter(created_at__lte=filters["created_until"])
    search = (filters.get("search") or "").strip()
    if search:
        queryset = queryset.filter(
            Q(title__icontains=search) | Q(message__icontains=search) | Q(resource__icontains=search)
        )
    return queryset
