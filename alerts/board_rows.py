"""The board's queue rows, rendered in Python.

A board page shows up to 200 rows; through the template engine (one include and a dozen
lookups and filters per row) they cost ~100 ms, here a few. This module is the one
source of a row's markup: the page, "Show more" and the live endpoint all use it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html import escape as esc

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from alerts.models import Alert, AlertStatus
from alerts.templatetags.board_tags import severity_badge, status_chip


def compact_duration(seconds: float) -> str:
    """Same wording as board.js (which keeps it current): "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h {minutes % 60} min"
    return f"{hours // 24} d {hours % 24} h"


def countdown(seconds: float) -> str:
    whole = int(abs(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return text if seconds >= 0 else f"overdue {text}"


@dataclass(frozen=True)
class RowContext:
    """What every row of one response shares (computed once, not per row)."""

    can_manage: bool
    csrf_token: str
    next_url: str
    detail_prefix: str  # "/board/alerts/"
    now: datetime

    @classmethod
    def for_request(cls, request: HttpRequest, *, can_manage: bool, next_url: str | None = None) -> RowContext:
        detail = reverse("board:alert-detail", args=[1])
        return cls(
            can_manage=can_manage,
            csrf_token=get_token(request),
            next_url=next_url if next_url is not None else request.get_full_path(),
            detail_prefix=detail[: detail.rindex("1/")],
            now=timezone.now(),
        )


def _local(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


@functools.cache
def _badge(severity: str) -> str:
    return str(severity_badge(severity))


@functools.cache
def _chip(status: str) -> str:
    return str(status_chip(status))


_UNREAD_DOT = '<span class="unread-dot" title="Unread"><span class="visually-hidden">Unread: </span></span>'
_UNASSIGNED = '<span class="muted">Unassigned</span>'
_NO_DEADLINE = '<span class="muted">—</span>'


def render_row(alert: Alert, ctx: RowContext) -> SafeString:
    """One queue row. Plain f-strings for speed: every value that is not ours goes through ``esc``."""
    pk = int(alert.pk)
    url = f"{ctx.detail_prefix}{pk}/"
    read = bool(getattr(alert, "is_read", True))
    meta = f'<span class="mono">#{pk}</span><span>{esc(alert.type)}</span>'
    if alert.resource:
        meta += f'<span class="mono">{esc(alert.resource)}</span>'
    if alert.occurrences > 1:
        meta += f'<span title="Occurrences">&times;{int(alert.occurrences)}</span>'
    if alert.assignee_id and alert.assignee is not None:
        name = esc(alert.assignee.full_name or alert.assignee.email)
        assignee = (
            f'<span class="assignee"><svg class="icon" aria-hidden="true"><use href="#i-user"/></svg>{name}</span>'
        )
    else:
        assignee = _UNASSIGNED
    created = alert.created_at
    created_epoch = f"{created.timestamp():.6f}"
    due = _NO_DEADLINE
    if alert.status == AlertStatus.TRIGGERED and alert.ack_deadline:
        left = (alert.ack_deadline - ctx.now).total_seconds()
        state = " is-overdue" if left < 0 else (" is-soon" if left < 120 else "")
        due = (
            f'<span class="countdown{state}" data-deadline="{alert.ack_deadline.timestamp():.6f}" '
            f'title="Escalates at {_local(alert.ack_deadline)}"><svg class="icon" aria-hidden="true">'
            f'<use href="#i-clock"/></svg><span data-countdown-text>{countdown(left)}</span></span>'
        )
    actions = ""
    if ctx.can_manage and alert.status == AlertStatus.TRIGGERED:
        actions = (
            f'<form method="post" action="{url}acknowledge/" data-action-form>'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(ctx.csrf_token)}">'
            f'<input type="hidden" name="next" value="{esc(ctx.next_url)}">'
            '<button type="submit" class="btn btn--primary btn--small">Acknowledge</button></form>'
        )
    status = esc(alert.status)
    return mark_safe(  # noqa: S308 (every interpolated value is escaped or our own markup)
        f'<tr class="row row--{status}{"" if read else " row--unread"}" id="alert-{pk}" data-alert-row="{pk}" '
        f'data-rank="{int(getattr(alert, "severity_rank", 0))}" data-created="{created_epoch}" data-status="{status}">'
        f'<td class="cell cell--sev" data-label="Severity">{_badge(alert.severity)}</td>'
        f'<td class="cell cell--title"><a class="row__title" href="{url}">{"" if read else _UNREAD_DOT}'
        f'{esc(alert.title)}</a><div class="row__meta">{meta}</div></td>'
        f'<td class="cell cell--status" data-label="Status">{_chip(alert.status)}</td>'
        f'<td class="cell cell--assignee" data-label="Assignee">{assignee}</td>'
        f'<td class="cell cell--age" data-label="Age"><time datetime="{created.isoformat()}" '
        f'data-since="{created_epoch}" title="{_local(created)}">'
        f"{compact_duration((ctx.now - created).total_seconds())}</time></td>"
        f'<td class="cell cell--due" data-label="Ack due">{due}</td>'
        f'<td class="cell cell--actions">{actions}<a class="btn btn--ghost btn--small" href="{url}">Open'
        f'<span class="visually-hidden"> alert #{pk}</span></a></td></tr>\n'
    )


def render_rows(alerts: Iterable[Alert], ctx: RowContext) -> SafeString:
    return mark_safe("".join(render_row(alert, ctx) for alert in alerts))  # noqa: S308 (rows are escaped)
