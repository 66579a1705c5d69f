"""The agent board: server-rendered pages under /board/ (the queue, an alert, stats) and
the JSON fragments ``board.js`` fetches for live updates. Actions: ``alerts.board_actions``.

Reads go through ``alerts.board_selectors`` / ``alerts.selectors`` (which authorize).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from accounts import capabilities as caps
from accounts.models import Team, User
from accounts.selectors import user_has_capability
from alertguardian.api import NotFound
from alerts import board_selectors as board
from alerts import stats as alert_stats
from alerts.board_rows import RowContext, render_row, render_rows
from alerts.charts import airports_chart, hourly_severity_chart, response_times_chart
from alerts.models import Alert
from alerts.selectors import alert_get_for_user, alert_unread_count
from alerts.services.user_state import alert_mark_read

SESSION_TEAM_KEY = "board_team_id"
STATUS_CHOICES = [
    ("open", "Open"),
    ("triggered", "Triggered"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
    ("all", "All"),
]

# Panels other apps add to the alert page without alerts importing them (fallbacks will
# register its suggestions here): each returns rendered HTML or None to show nothing.
ALERT_DETAIL_PANELS: list[Callable[[HttpRequest, Alert], str | None]] = []


def html_not_found(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Board pages answer 404 with a board page (the project's handler404 speaks JSON for the API)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "board/not_found.html", {"teams": []}, status=404)

    return wrapper


def request_user(request: HttpRequest) -> User:
    """The logged-in user of a board view (every board view is login_required)."""
    user = request.user
    assert isinstance(user, User)
    return user


def _board_team(request: HttpRequest, *, remember: bool = True) -> tuple[Team | None, list[Team]]:
    """The team the board shows, remembered in the session; a team the user may not read is 404.

    The live and "Show more" endpoints name their team and do not touch the session (two
    tabs on two teams must not flip each other's remembered choice).
    """
    teams = board.board_teams_for_user(user=request_user(request))
    requested = request.GET.get("team")
    team = board.board_team_for_user(
        teams=teams, requested_id=requested, remembered_id=request.session.get(SESSION_TEAM_KEY)
    )
    if requested not in (None, "") and team is None:
        raise Http404("Team not found.")
    if remember and team is not None and request.session.get(SESSION_TEAM_KEY) != team.pk:
        request.session[SESSION_TEAM_KEY] = team.pk
    return team, teams


def _board_context(request: HttpRequest, team: Team, filters: board.BoardFilters) -> dict[str, Any]:
    user = request_user(request)
    can_manage = user_has_capability(user=user, capability=caps.ALERTS_MANAGE, team_id=team.pk)
    # Row actions return to the board as filtered (not to /board/live/ or /board/rows/).
    query = urlencode(filters.as_query(**({"page": filters.page} if filters.page > 1 else {})))
    board_url = reverse("board:index") + (f"?{query}" if query else "")
    return {
        "team": team,
        "filters": filters,
        "can_manage": can_manage,
        "row_context": RowContext.for_request(request, can_manage=can_manage, next_url=board_url),
    }


@login_required
@html_not_found
@require_GET
def board_view(request: HttpRequest) -> HttpResponse:
    team, teams = _board_team(request)
    user = request_user(request)
    if team is None:
        return render(request, "board/no_team.html", {"teams": teams}, status=200)
    filters = board.BoardFilters.from_params(request.GET)
    alerts = board.board_page(user=user, team=team, filters=filters)
    counts = board.board_counts(user=user, team=team, filters=filters)
    shown_until = (filters.page - 1) * board.BOARD_PAGE_SIZE + len(alerts)
    base = _board_context(request, team, filters)
    context = {
        **base,
        "rows_html": render_rows(alerts, base["row_context"]),
        "nav": "board",
        "teams": teams,
        "alerts": alerts,
        "counts": counts,
        "severity_counts": _severity_counts(counts, filters),
        "severity_order": board.SEVERITY_ORDER,
        "status_choices": STATUS_CHOICES,
        "page_size": board.BOARD_PAGE_SIZE,
        "alert_types": board.board_alert_types(team=team),
        "unread_count": alert_unread_count(user=user),
        "shown_from": (filters.page - 1) * board.BOARD_PAGE_SIZE + (1 if alerts else 0),
        "page_first": (filters.page - 1) * board.BOARD_PAGE_SIZE + 1,
        "shown_until": shown_until,
        "next_page_query": urlencode(filters.as_query(page=filters.page + 1)) if shown_until < counts.matching else "",
        "prev_page_query": urlencode(filters.as_query(page=filters.page - 1)) if filters.page > 1 else "",
        "filter_query": urlencode(filters.as_query()),
    }
    return render(request, "board/board.html", context)


@login_required
@require_GET
def board_rows_view(request: HttpRequest) -> JsonResponse:
    """The next page of rows for "Show more" (HTML fragment in JSON)."""
    team, _teams = _board_team(request, remember=False)
    if team is None:
        raise Http404("No team.")
    filters = board.BoardFilters.from_params(request.GET)
    alerts = board.board_page(user=request_user(request), team=team, filters=filters)
    html = render_rows(alerts, _board_context(request, team, filters)["row_context"])
    matching = board.board_alerts(user=request_user(request), team=team, filters=filters).count()
    shown_until = (filters.page - 1) * board.BOARD_PAGE_SIZE + len(alerts)
    return JsonResponse({"html": html, "shown_until": shown_until, "has_more": shown_until < matching})


@login_required
@require_GET
def board_live_row_view(request: HttpRequest, alert_id: int) -> JsonResponse:
    """What a live event changes on the board: the alert's row (``null`` when it no longer
    matches the filters or left the team), fresh counts and the unread count."""
    team, _teams = _board_team(request, remember=False)
    if team is None:
        raise Http404("No team.")
    user = request_user(request)
    filters = board.BoardFilters.from_params(request.GET)
    alert = board.board_alert_row(user=user, team=team, filters=filters, alert_id=alert_id)
    context = _board_context(request, team, filters)
    row = render_row(alert, context["row_context"]) if alert else None
    counts = board.board_counts(user=user, team=team, filters=filters)
    counts_html = render_to_string(
        "board/_counts.html", {**context, "counts": counts, "severity_counts": _severity_counts(counts, filters)}
    )
    return JsonResponse(
        {
            "id": alert_id,
            "row": row,
            "sort_key": _sort_key(alert) if alert else None,
            "counts_html": counts_html,
            "matching": counts.matching,
            "unread": alert_unread_count(user=user),
        }
    )


def _severity_counts(counts: board.BoardCounts, filters: board.BoardFilters) -> list[dict[str, Any]]:
    """Each severity's open count with the link that filters by it (or clears that filter)."""
    items = []
    for severity in board.SEVERITY_ORDER:
        active = filters.severity == severity
        query = filters.as_query(severity="" if active else severity)
        items.append(
            {
                "severity": severity,
                "count": counts.open_by_severity.get(severity, 0),
                "active": active,
                "query": urlencode({k: v for k, v in query.items() if v}),
            }
        )
    return items


def _sort_key(alert: Alert) -> list[Any]:
    return [-int(getattr(alert, "severity_rank", 0)), alert.created_at.timestamp(), alert.pk]


def _alert_for_page(request: HttpRequest, alert_id: int) -> Alert:
    user = request_user(request)
    # The board is the staff's view (internal notes, assignees); customers follow their
    # alerts through the API, so for them this page does not exist.
    if not user.is_staff_member:
        raise Http404("Alert not found.")
    try:
        return alert_get_for_user(user=user, alert_id=alert_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@html_not_found
@require_GET
def alert_detail_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = request_user(request)
    alert = _alert_for_page(request, alert_id)
    alert_mark_read(alert=alert, user=user)
    can_manage = user_has_capability(user=user, capability=caps.ALERTS_MANAGE, team_id=alert.team_id)
    panels = [html for panel in ALERT_DETAIL_PANELS if (html := panel(request, alert))]
    context = {
        "nav": "board",
        "alert": alert,
        "team": alert.team,
        "teams": board.board_teams_for_user(user=user),
        "timeline": board.alert_timeline(alert=alert),
        "can_manage": can_manage,
        "can_reopen": user_has_capability(user=user, capability=caps.ALERTS_REOPEN, team_id=alert.team_id),
        "staff": board.board_assignable_staff(team_id=alert.team_id) if can_manage else [],
        "unread_count": alert_unread_count(user=user),
        "extra_panels": panels,
        "metadata_items": sorted((str(k), v) for k, v in (alert.metadata or {}).items()),
    }
    return render(request, "board/detail.html", context)


# --- Stats ------------------------------------------------------------------------------------


@login_required
@html_not_found
@require_GET
def stats_view(request: HttpRequest) -> HttpResponse:
    team, teams = _board_team(request)
    user = request_user(request)
    if team is None:
        return render(request, "board/no_team.html", {"teams": teams})
    hourly = alert_stats.alerts_per_hour(team=team)
    daily = alert_stats.response_times_per_day(team=team)
    airports = alert_stats.top_disrupted_airports(team=team)
    context = {
        "nav": "stats",
        "team": team,
        "teams": teams,
        "severities": alert_stats.SEVERITIES,
        "unread_count": alert_unread_count(user=user),
        "hourly": hourly,
        "hourly_chart": hourly_severity_chart(hourly),
        "daily": daily,
        "daily_chart": response_times_chart(daily),
        "airports": airports,
        "airports_chart": airports_chart(airports),
        "hourly_total": sum(bucket.total for bucket in hourly),
    }
    return render(request, "board/stats.html", context)
