"""Stats selectors (per-hour volume, response times, disrupted airports) and chart geometry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.tests.factories import TeamFactory
from alerts.charts import airports_chart, axis, hourly_severity_chart, nice_ceiling, response_times_chart
from alerts.stats import AirportCount, airport_of, alerts_per_hour, response_times_per_day, top_disrupted_airports
from alerts.tests.factories import AlertFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, 40, tzinfo=UTC)


def at(**delta) -> datetime:
    return NOW - timedelta(**delta)


@time_machine.travel(NOW, tick=False)
def test_alerts_per_hour_by_severity_over_the_last_24_hours():
    team = TeamFactory()
    AlertFactory(team=team, severity="critical", created_at=at(minutes=5))  # 15:35, current hour
    AlertFactory(team=team, severity="critical", created_at=at(minutes=30))  # 15:10
    AlertFactory(team=team, severity="low", created_at=at(minutes=50))  # 14:50
    AlertFactory(team=team, severity="high", created_at=at(hours=23, minutes=30))  # 16:10 yesterday: first bucket
    AlertFactory(team=team, severity="high", created_at=at(hours=24, minutes=45))  # too old
    AlertFactory(severity="critical", created_at=at(minutes=5))  # another team
    buckets = alerts_per_hour(team=team)
    assert len(buckets) == 24
    assert buckets[-1].start == datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert buckets[0].start == datetime(2026, 3, 9, 16, tzinfo=UTC)
    assert buckets[-1].counts == {"critical": 2, "high": 0, "medium": 0, "low": 0}
    assert buckets[-2].counts["low"] == 1
    assert buckets[0].counts["high"] == 1
    assert sum(b.total for b in buckets) == 4


@time_machine.travel(NOW, tick=False)
def test_hours_follow_the_team_time_zone():
    team = TeamFactory(timezone="Asia/Kolkata")  # UTC+05:30: hours start at :30 UTC
    AlertFactory(team=team, created_at=at(minutes=5))  # 21:05 local
    AlertFactory(team=team, created_at=at(minutes=15))  # 20:55 local
    buckets = alerts_per_hour(team=team)
    assert buckets[-1].start.hour == 21
    assert buckets[-1].start.utcoffset() == timedelta(hours=5, minutes=30)
    assert (buckets[-1].total, buckets[-2].total) == (1, 1)


@time_machine.travel(NOW, tick=False)
def test_mean_time_to_acknowledge_and_resolve_per_day():
    team = TeamFactory()
    today = at(hours=3)
    AlertFactory(team=team, created_at=today, acknowledged_at=today + timedelta(minutes=4))
    AlertFactory(
        team=team,
        created_at=today,
        acknowledged_at=today + timedelta(minutes=8),
        resolved_at=today + timedelta(hours=2),
        status="resolved",
    )
    AlertFactory(team=team, created_at=today)  # still open: counted as raised only
    yesterday = at(days=1)
    AlertFactory(team=team, created_at=yesterday, resolved_at=yesterday + timedelta(minutes=30), status="resolved")
    AlertFactory(team=team, created_at=at(days=20), acknowledged_at=at(days=20) + timedelta(minutes=1))  # outside
    days = response_times_per_day(team=team)
    assert len(days) == 14
    assert days[-1].day == NOW.date()
    last, before = days[-1], days[-2]
    assert (last.raised, last.acknowledged, last.resolved) == (3, 2, 1)
    assert last.mean_ack == timedelta(minutes=6)
    assert last.mean_resolve == timedelta(hours=2)
    assert (before.raised, before.mean_ack, before.mean_resolve) == (1, None, timedelta(minutes=30))
    assert all(d.raised == 0 and d.mean_ack is None for d in days[:-2])


@pytest.mark.parametrize(
    ("resource", "origin", "expected"),
    [
        ("UA1545-2013-02-08-EWR", None, "EWR"),
        ("UA1545-2013-02-08-EWR", "jfk", "JFK"),  # metadata wins
        ("hotel:1234", None, None),
        ("UA1545-2013-02-08-NEWARK", None, None),
        ("", "", None),
    ],
)
def test_airport_of(resource, origin, expected):
    assert airport_of(resource=resource, origin=origin) == expected


@time_machine.travel(NOW, tick=False)
def test_top_disrupted_airports_from_leg_keys_and_metadata():
    team = TeamFactory()
    for _ in range(3):
        AlertFactory(team=team, resource="UA1-2013-02-08-EWR", created_at=at(hours=1))
    AlertFactory(team=team, resource="DL2-2013-02-08-ATL", created_at=at(days=2))
    AlertFactory(team=team, resource="hotel-overbooked", metadata={"origin": "ATL"}, created_at=at(days=1))
    AlertFactory(team=team, resource="AA3-2013-02-08-ORD", created_at=at(days=30))  # too old
    AlertFactory(resource="UA9-2013-02-08-SFO", created_at=at(hours=1))  # another team
    airports = top_disrupted_airports(team=team)
    assert [(a.code, a.alerts) for a in airports] == [("EWR", 3), ("ATL", 2)]
    assert airports[0].name == "Newark Liberty International Airport"


# --- chart geometry ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [(0, 1), (0.3, 0.5), (1, 1), (3, 5), (7, 10), (12, 20), (45, 50)])
def test_nice_ceiling(value, expected):
    assert nice_ceiling(value) == expected


def test_axis_steps_are_whole_alerts_for_counts():
    assert axis(9, integer=True) == (10, 5)
    assert axis(1, integer=True) == (1, 1)
    assert axis(3.8) == (4, 1)


@time_machine.travel(NOW, tick=False)
def test_charts_scale_bars_and_leave_gaps_for_days_without_data():
    team = TeamFactory()
    AlertFactory(team=team, severity="critical", created_at=at(minutes=5))
    AlertFactory(team=team, severity="low", created_at=at(minutes=6), acknowledged_at=at(minutes=1))
    hourly = hourly_severity_chart(alerts_per_hour(team=team))
    last = hourly.bars[-1]
    assert [s.severity for s in last.segments] == ["critical", "low"]  # critical at the bottom
    assert last.segments[0].y + last.segments[0].height == pytest.approx(hourly.baseline)
    assert hourly.ticks[-1].label == "2"
    daily = response_times_chart(response_times_per_day(team=team))
    ack = daily.series[0]
    assert len(ack.points) == 1  # one day with data: a marker, no invented line
    assert ack.paths == []
    assert airports_chart([]) == []
    bars = airports_chart([AirportCount("EWR", "Newark", 4), AirportCount("ATL", "", 1)])
    assert [(b.code, b.percent) for b in bars] == [("EWR", 100.0), ("ATL", 25.0)]
