"""Template tags of the ops console (the admin index panel)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count
from django.urls import NoReverseMatch, reverse

from accounts import capabilities as caps
from accounts.selectors import team_ids_with_capability
from alerts.models import OPEN_STATUSES, SEVERITY_RANK, Alert

register = template.Library()


@register.simple_tag(takes_context=True)
def open_alerts_by_severity(context: dict[str, Any]) -> list[dict[str, Any]]:
    """Open alerts per severity, critical first: one aggregate query (plus the user's teams
    for staff who are not platform admins)."""
    alerts = Alert.objects.filter(status__in=OPEN_STATUSES)
    user = context.get("user")
    if user is not None and user.is_authenticated and not user.is_superuser:
        team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
        if team_ids is not None:
            alerts = alerts.filter(team_id__in=team_ids)
    counts = dict(alerts.values_list("severity").annotate(n=Count("id")).order_by())
    try:
        changelist = reverse("admin:alerts_alert_changelist")
    except NoReverseMatch:  # the Alert admin is not registered
        changelist = ""
    return [
        {
            "severity": severity,
            "count": counts.get(severity, 0),
            "url": f"{changelist}?severity__exact={severity}" if changelist else "",
        }
        for severity in sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__, reverse=True)
    ]
