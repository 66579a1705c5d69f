"""Schedules of time rules: five-field cron expressions or fixed intervals, in a time zone.

Cron fields are parsed with Celery's own parser (``minute hour day-of-month month
day-of-week``, names such as ``mon-fri`` allowed, Sunday is 0). As in Vixie cron, when both
day-of-month and day-of-week are restricted a day matching either runs. A local time that
does not exist (spring-forward gap) runs at the equivalent instant after the change; an
ambiguous one (fall-back) runs once, at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import ParseException, crontab_parser

MAX_DAYS_AHEAD = 5 * 366


def zone(name: str) -> ZoneInfo:
    """The team's zone; an unknown name falls back to UTC rather than stopping schedules."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class CronSpec:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday
    dom_restricted: bool
    dow_restricted: bool

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom_ok = day.day in self.days_of_month
        dow_ok = (day.isoweekday() % 7) in self.days_of_week
        if self.dom_restricted and self.dow_restricted:
            return dom_ok or dow_ok
        return dom_ok and dow_ok


class CronError(ValueError):
    pass


def cron_parse(expression: str) -> CronSpec:
    parts = expression.split()
    if len(parts) != 5:
        raise CronError("a cron expression has 5 fields: minute hour day-of-month month day-of-week")
    minute, hour, dom, month, dow = parts
    try:
        spec = CronSpec(
            minutes=tuple(sorted(crontab_parser(60).parse(minute))),
            hours=tuple(sorted(crontab_parser(24).parse(hour))),
            days_of_month=frozenset(crontab_parser(31, 1).parse(dom)),
            months=frozenset(crontab_parser(12, 1).parse(month)),
            days_of_week=frozenset(crontab_parser(7).parse(dow)),
            dom_restricted=dom != "*",
            dow_restricted=dow != "*",
        )
    except (ParseException, ValueError, KeyError, IndexError) as exc:
        raise CronError(f"invalid cron expression: {exc}") from exc
    if not (spec.minutes and spec.hours and spec.days_of_month and spec.months and spec.days_of_week):
        raise CronError("the cron expression never matches")
    return spec


def cron_next(spec: CronSpec, after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first matching instant strictly after ``after`` (aware), in UTC."""
    after_utc = after.astimezone(UTC)
    local_day = after.astimezone(tz).date()
    for offset in range(MAX_DAYS_AHEAD):
        day = local_day + timedelta(days=offset)
        if not spec.day_matches(day):
            continue
        for hour in spec.hours:
            for minute in spec.minutes:
                candidate = datetime.combine(day, dtime(hour, minute), tzinfo=tz).astimezone(UTC)
                if candidate > after_utc:
                    return candidate
    return None


def schedule_next(schedule: dict[str, Any], after: datetime, tz: ZoneInfo) -> datetime | None:
    """Next run of a time rule's ``schedule`` (``{"cron": ...}`` or ``{"every_minutes": n}``)."""
    if "every_minutes" in schedule:
        return after.astimezone(UTC) + timedelta(minutes=int(schedule["every_minutes"]))
    return cron_next(cron_parse(schedule["cron"]), after, tz)
