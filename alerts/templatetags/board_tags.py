"""Small, fast tags for the board templates (a board page renders hundreds of rows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from alerts.models import AlertStatus, Severity

register = template.Library()

SEVERITY_LABELS = dict(Severity.choices)
STATUS_LABELS = dict(AlertStatus.choices)


@register.simple_tag
def severity_badge(severity: str, compact: bool = False) -> SafeString:
    """Icon (a distinct shape per level) + text label + colour: never colour alone."""
    label = SEVERITY_LABELS.get(severity, severity)
    return format_html(
        '<span class="sev sev--{0}{2}"><svg class="icon" aria-hidden="true"><use href="#sev-{0}"/></svg>'
        '<span class="sev__label">{1}</span></span>',
        severity,
        label,
        " sev--compact" if compact else "",
    )


@register.simple_tag
def status_chip(status: str) -> SafeString:
    return format_html(
        '<span class="chip chip--{0}" data-status-chip><svg class="icon" aria-hidden="true"><use href="#st-{0}"/></svg>{1}</span>',
        status,
        STATUS_LABELS.get(status, status),
    )


@register.filter
def epoch(value: datetime | None) -> str:
    """Seconds since the epoch with microseconds (sort keys and countdowns in board.js)."""
    return f"{value.timestamp():.6f}" if value else ""


@register.filter
def duration_short(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"


@register.filter
def pretty_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


@register.filter
def person(user: Any, fallback: str = "an integration") -> str:
    """A user's name for people (full name, else email); ``fallback`` when there is none."""
    if user is None:
        return fallback
    return str(getattr(user, "full_name", "") or getattr(user, "email", "") or fallback)
