"""Stats for the board's /board/stats/ page: volume, response times, disrupted airports.

All selectors take a team the caller already authorized (``board_team_for_user``) and
work in the team's time zone, so "per day" means the desk's day. Each runs one query.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from accounts.models import Team
from alerts.models import Alert, Severity

SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
IATA_CODE = re.compile(r"^[A-Z]{3}$")


def team_zone(team: Team) -> ZoneInfo:
    try:
        return ZoneInfo(team.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass
class HourBucket:
    start: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def alerts_per_hour(*, team: Team, hours: int = 24, now: datetime | None = None) -> list[HourBucket]:
    """Alerts raised per hour and severity over the last ``hours`` hours (the current hour last)."""
    zone = team_zone(team)
    current_hour = (now or timezone.now()).astimezone(zone).replace(minute=0, second=0, microsecond=0)
    starts = [current_hour - timedelta(hours=offset) for offset in range(hours - 1, -1, -1)]
    buckets = {start: HourBucket(start=start, counts=dict.fromkeys(SEVERITIES, 0)) for start in starts}
    rows = (
        Alert.objects.filter(team_id=team.pk, created_at__gte=starts[0])
        .annotate(hour=TruncHour("created_at", tzinfo=zone))
        .values("hour", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        bucket = buckets.get(row["hour"].astimezone(zone))
        if bucket is not None and row["severity"] in bucket.counts:
            bucket.counts[row["severity"]] += row["n"]
    return list(buckets.values())


@dataclass
class DayResponse:
    day: date
    raised: int = 0
    acknowledged: int = 0
    resolved: int = 0
    mean_ack: timedelta | None = None
    mean_resolve: timedelta | None = None


def response_times_per_day(*, team: Team, days: int = 14, now: datetime | None = None) -> list[DayResponse]:
    """Mean time to acknowledge and to resolve, per day the alerts were raised (last ``days`` days)."""
    zone = team_zone(team)
    today = (now or timezone.now()).astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    result = {first_day + timedelta(days=n): DayResponse(day=first_day + timedelta(days=n)) for n in range(days)}
    rows = (
        Alert.objects.filter(team_id=team.pk, created_at__gte=since)
        .annotate(
            day=TruncDate("created_at", tzinfo=zone),
            to_ack=ExpressionWrapper(F("acknowledged_at") - F("created_at"), output_field=DurationField()),
            to_resolve=ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField()),
        )
        .values("day")
        .annotate(
            raised=Count("id"),
            acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)),
            resolved=Count("id", filter=Q(resolved_at__isnull=False)),
            mean_ack=Avg("to_ack"),
            mean_resolve=Avg("to_resolve"),
        )
        .order_by()
    )
    for row in rows:
        day = result.get(row["day"])
        if day is None:
            continue
        day.raised, day.acknowledged, day.resolved = row["raised"], row["acknowledged"], row["resolved"]
        day.mean_ack, day.mean_resolve = _duration(row["mean_ack"]), _duration(row["mean_resolve"])
    return list(result.values())


def _duration(value: Any) -> timedelta | None:
    # PostgreSQL returns an interval; SQLite's average of microseconds comes back as a number.
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(microseconds=float(value))


@dataclass(frozen=True)
class AirportCount:
    code: str
    name: str
    alerts: int


def airport_of(*, resource: str, origin: str | None) -> str | None:
    """The disrupted airport: ``metadata["origin"]`` when present, else the last segment of a
    flight-leg key (``UA1545-2013-02-08-EWR`` → ``EWR``); ``None`` if neither is an IATA code."""
    for candidate in (origin or "", resource.rsplit("-", 1)[-1] if "-" in resource else ""):
        code = candidate.strip().upper()
        if IATA_CODE.match(code):
            return code
    return None


@functools.cache
def _airport_names() -> dict[str, str]:
    import airportsdata

    return {code: str(info.get("name") or "") for code, info in airportsdata.load("IATA").items()}


def top_disrupted_airports(
    *, team: Team, days: int = 14, limit: int = 10, now: datetime | None = None
) -> list[AirportCount]:
    """Airports with the most alerts raised in the last ``days`` days, most first."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = (
        Alert.objects.filter(team_id=team.pk, created_at__gte=since)
        .annotate(origin=KeyTextTransform("origin", "metadata"))
        .values("resource", "origin")
        .annotate(n=Count("id"))
        .order_by()
    )
    counter: Counter[str] = Counter()
    for row in rows:
        code = airport_of(resource=row["resource"] or "", origin=row["origin"])
        if code:
            counter[code] += row["n"]
    names = _airport_names()
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [AirportCount(code=code, name=names.get(code, ""), alerts=n) for code, n in ranked]
