"""Reads behind the agent board: team choice, the filtered queue, counts, unread state.

Every function takes the acting user (or a team already authorized for them through
``board_team_for_user``) so that no board view can forget the membership check.
The queue is built for size: one query for the rendered page, one aggregate query for
every count, whatever the number of open alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts import capabilities as caps
from accounts.models import Team, User
from accounts.selectors import team_ids_with_capability, team_staff
from alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertStatus,
    AlertUserState,
    Severity,
    severity_rank_expression,
)

BOARD_PAGE_SIZE = 200
# What a queue row shows (alerts.board_rows); message and metadata can be large and are not shown.
ROW_FIELDS = (
    "id",
    "team_id",
    "type",
    "severity",
    "status",
    "title",
    "resource",
    "occurrences",
    "created_at",
    "ack_deadline",
    "assignee__id",
    "assignee__email",
    "assignee__full_name",
)
ALERT_TYPES_CACHE_SECONDS = 30
STATUS_FILTERS = ("open", "triggered", "acknowledged", "resolved", "all")
SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


@dataclass(frozen=True)
class BoardFilters:
    """What the agent asked to see; built from the query string by ``from_params``."""

    status: str = "open"
    severity: str = ""
    type: str = ""
    mine: bool = False
    q: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Any) -> BoardFilters:
        status = params.get("status", "open")
        severity = params.get("severity", "")
        try:
            page = max(1, min(int(params.get("page", "1")), 10_000))
        except ValueError:
            page = 1
        return cls(
            status=status if status in STATUS_FILTERS else "open",
            severity=severity if severity in Severity.values else "",
            type=params.get("type", "").strip()[:64],
            mine=params.get("mine", "") in {"1", "on", "true"},
            q=params.get("q", "").strip()[:200],
            page=page,
        )

    def as_query(self, **overrides: Any) -> dict[str, str]:
        """The non-default filters as query parameters (page excluded unless overridden)."""
        values = {"status": self.status, "severity": self.severity, "type": self.type, "q": self.q}
        query = {k: v for k, v in values.items() if v and not (k == "status" and v == "open")}
        if self.mine:
            query["mine"] = "1"
        query.update({k: str(v) for k, v in overrides.items()})
        return query

    @property
    def is_default(self) -> bool:
        return not self.as_query()


@dataclass
class BoardCounts:
    open_by_severity: dict[str, int] = field(default_factory=dict)
    triggered: int = 0
    acknowledged: int = 0
    matching: int = 0

    @property
    def open_total(self) -> int:
        return sum(self.open_by_severity.values())


def board_teams_for_user(*, user: User) -> list[Team]:
    """Teams whose board ``user`` may read, by name."""
    team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
    teams = Team.objects.all() if team_ids is None else Team.objects.filter(pk__in=team_ids)
    return list(teams.order_by("name"))


def board_team_for_user(*, teams: list[Team], requested_id: Any = None, remembered_id: Any = None) -> Team | None:
    """The board's team among ``teams`` (those the user may read): the requested one, else the
    remembered one, else the first. A requested id outside ``teams`` yields ``None`` (404)."""
    by_id = {team.pk: team for team in teams}
    if requested_id not in (None, ""):
        try:
            return by_id.get(int(requested_id))
        except (TypeError, ValueError):
            return None
    try:
        remembered = by_id.get(int(remembered_id)) if remembered_id is not None else None
    except (TypeError, ValueError):
        remembered = None
    return remembered or (teams[0] if teams else None)


def _filter_q(*, user: User, filters: BoardFilters) -> Q:
    condition = Q()
    if filters.status == "open":
        condition &= Q(status__in=OPEN_STATUSES)
    elif filters.status in AlertStatus.values:
        condition &= Q(status=filters.status)
    if filters.severity:
        condition &= Q(severity=filters.severity)
    if filters.type:
        condition &= Q(type=filters.type)
    if filters.mine:
        condition &= Q(assignee_id=user.pk)
    if filters.q:
        text = Q(title__icontains=filters.q) | Q(resource__icontains=filters.q) | Q(type__icontains=filters.q)
        number = filters.q.removeprefix("#")
        if number.isdigit() and len(number) < 18:
            text |= Q(pk=int(number))
        condition &= text
    return condition


def _read_exists(user: User) -> Exists:
    return Exists(
        AlertUserState.objects.filter(alert_id=OuterRef("pk"), user_id=user.pk).filter(
            Q(read_at__isnull=False) | Q(dismissed_at__isnull=False)
        )
    )


def board_alerts(*, user: User, team: Team, filters: BoardFilters) -> QuerySet[Alert]:
    """The queue: most severe first, then oldest first (the longest wait is the most urgent).

    Annotated with ``severity_rank`` and ``is_read`` (for this user). Not sliced: callers
    take ``board_page``.
    """
    return (
        Alert.objects.filter(team_id=team.pk)
        .filter(_filter_q(user=user, filters=filters))
        .select_related("assignee")
        .only(*ROW_FIELDS)
        .annotate(severity_rank=severity_rank_expression(), is_read=_read_exists(user))
        .order_by("-severity_rank", "created_at", "id")
    )


def board_page(*, user: User, team: Team, filters: BoardFilters) -> list[Alert]:
    """One page (``BOARD_PAGE_SIZE`` rows) of the queue; rows of later pages follow with ``page``."""
    start = (filters.page - 1) * BOARD_PAGE_SIZE
    return list(board_alerts(user=user, team=team, filters=filters)[start : start + BOARD_PAGE_SIZE])


def board_alert_row(*, user: User, team: Team, filters: BoardFilters, alert_id: int) -> Alert | None:
    """The alert as a board row if it is in ``team`` and matches ``filters``; else ``None``."""
    return board_alerts(user=user, team=team, filters=filters).filter(pk=alert_id).first()


def board_counts(*, user: User, team: Team, filters: BoardFilters) -> BoardCounts:
    """Open alerts per severity and status, and how many match ``filters``: one aggregate query."""
    open_q = Q(status__in=OPEN_STATUSES)
    filter_q = _filter_q(user=user, filters=filters)
    aggregates: dict[str, Any] = {
        f"sev_{severity}": Count("id", filter=open_q & Q(severity=severity)) for severity in SEVERITY_ORDER
    }
    aggregates["triggered"] = Count("id", filter=Q(status=AlertStatus.TRIGGERED))
    aggregates["acknowledged"] = Count("id", filter=Q(status=AlertStatus.ACKNOWLEDGED))
    aggregates["matching"] = Count("id", filter=filter_q) if filter_q else Count("id")
    scope = Alert.objects.filter(team_id=team.pk)
    if filter_q:
        # Scan open alerts plus what the filter asks for: history only when asked for.
        scope = scope.filter(open_q | filter_q)
    row = scope.aggregate(**aggregates)
    return BoardCounts(
        open_by_severity={severity: row[f"sev_{severity}"] for severity in SEVERITY_ORDER},
        triggered=row["triggered"],
        acknowledged=row["acknowledged"],
        matching=row["matching"],
    )


def board_alert_types(*, team: Team) -> list[str]:
    """Alert types seen among the team's open alerts (the type filter's choices).

    Cached briefly: a DISTINCT over every open alert on each page view buys nothing when
    the list of types changes a few times a day.
    """

    def load() -> list[str]:
        return list(
            Alert.objects.filter(team_id=team.pk, status__in=OPEN_STATUSES)
            .order_by("type")
            .values_list("type", flat=True)
            .distinct()
        )

    types: list[str] = cache.get_or_set(f"board:alert-types:{team.pk}", load, ALERT_TYPES_CACHE_SECONDS) or []
    return types


def alert_timeline(*, alert: Alert) -> QuerySet[AlertEvent]:
    """The alert's timeline, oldest first (the alert was already fetched with an access check)."""
    return AlertEvent.objects.filter(alert_id=alert.pk).select_related("actor").order_by("id")


def board_assignable_staff(*, team_id: int) -> QuerySet[User]:
    """Who an alert of the team may be assigned to (the service enforces the same rule)."""
    return team_staff(team_id=team_id).order_by("full_name", "email")
