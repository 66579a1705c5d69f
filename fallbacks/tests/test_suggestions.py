from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from accounts.tests.factories import TeamFactory, member
from fallbacks.airports import local_date
from fallbacks.models import FallbackOption, OptionKind, OptionStatus, TeamFallbackSettings
from fallbacks.selectors import affected_bookings_count
from fallbacks.services import booking_options_compute
from fallbacks.tests.helpers import DAY, book, client_for, flights, raise_disruption

pytestmark = pytest.mark.django_db


def air_steps(option):
    return [s for s in option.plan["steps"] if s["mode"] == "air"]


def test_cancelled_flight_ranks_same_route_first_then_nearby_then_refund(team, customer, inventory):
    jfk_lax = flights("JFK", "LAX", service_date=DAY)
    original = jfk_lax[0]
    booking = book(team, customer, [original], passengers=2)
    alert = raise_disruption(team, original.leg_key)

    options = booking_options_compute(booking=booking)

    assert [o.rank for o in options] == list(range(1, len(options) + 1))
    rebooks = [o for o in options if o.kind != OptionKind.REFUND]
    assert [o.score for o in rebooks] == sorted(o.score for o in rebooks)
    best = rebooks[0]
    assert best.alert_id == alert.pk
    assert air_steps(best)[0]["origin"] == "JFK"
    assert air_steps(best)[0]["destination"] == "LAX"
    # the same-route flight arriving first among those leaving after the cancelled one
    later = [f for f in jfk_lax[1:] if f.seats - f.seats_sold >= 2]
    first_in = min(later, key=lambda f: f.scheduled_arrival)
    assert air_steps(best)[0]["leg_key"] == first_in.leg_key
    assert best.arrival_delay_minutes == int(
        (first_in.scheduled_arrival - original.scheduled_arrival).total_seconds() // 60
    )
    assert best.passenger_cost == 0  # involuntary: no fee, fare difference waived
    assert "earliest arrival" in best.why
    assert "later than planned" in best.why
    assert all(original.leg_key not in [s["leg_key"] for s in air_steps(o)] for o in rebooks)
    nearby = [o for o in rebooks if air_steps(o)[0]["origin"] == "EWR"]
    assert nearby, "a flight from Newark (33 km) should be offered"
    transfer = nearby[0].plan["steps"][0]
    assert transfer["mode"] == "bus"
    assert (transfer["origin"], transfer["destination"]) == ("JFK", "EWR")
    assert datetime.fromisoformat(transfer["arrival"]) + timedelta(minutes=60) <= datetime.fromisoformat(
        air_steps(nearby[0])[0]["departure"]
    )
    assert nearby[0].care_cost > 0
    assert "bus from JFK to EWR" in nearby[0].why
    refund = options[-1]
    assert refund.kind == OptionKind.REFUND
    assert refund.refund_eligible
    assert refund.refund_amount == booking.total_paid
    assert "cancelled" in refund.why
    assert all(o.expires_at > o.created_at for o in options)


def test_recompute_supersedes_previous_options(team, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    raise_disruption(team, original.leg_key)
    first = booking_options_compute(booking=booking)
    second = booking_options_compute(booking=booking)
    assert FallbackOption.objects.filter(pk__in=[o.pk for o in first], status=OptionStatus.SUPERSEDED).count() == len(
        first
    )
    assert all(o.status == OptionStatus.OPEN for o in second)


def test_flights_cancelled_by_any_alert_are_not_offered(team, customer, inventory):
    jfk_lax = flights("JFK", "LAX", service_date=DAY)
    booking = book(team, customer, [jfk_lax[0]])
    raise_disruption(team, jfk_lax[0].leg_key)
    before = {s["leg_key"] for o in booking_options_compute(booking=booking) for s in air_steps(o)}
    assert jfk_lax[1].leg_key in before
    assert jfk_lax[2].leg_key in before
    raise_disruption(TeamFactory(), jfk_lax[1].leg_key)  # another agency saw the next one cancelled
    offered = {s["leg_key"] for o in booking_options_compute(booking=booking) for s in air_steps(o)}
    assert jfk_lax[1].leg_key not in offered
    assert jfk_lax[2].leg_key in offered


def test_evening_cancellation_offers_next_day_flights_with_a_hotel(team, customer, inventory):
    last = flights("LGA", "ATL", service_date=DAY)[-1]
    booking = book(team, customer, [last], passengers=3)
    raise_disruption(team, last.leg_key)
    options = [o for o in booking_options_compute(booking=booking) if o.kind != OptionKind.REFUND]
    assert options
    for option in options:
        departure = datetime.fromisoformat(option.plan["first_departure"])
        if local_date("LGA", departure) > local_date("LGA", last.scheduled_departure):
            hotel = option.plan["hotel"]
            assert hotel is not None, option.why
            assert hotel["nights"] == [DAY.isoformat()]
            assert hotel["rooms"] == 2  # three passengers, two to a room
            assert option.care_cost >= Decimal(hotel["cost"])
            assert "night(s) at" in option.why
        else:
            assert option.plan["hotel"] is None


def test_short_delay_offers_staying_and_no_refund(team, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    raise_disruption(team, original.leg_key, kind="delay", delay_minutes=120)
    options = booking_options_compute(booking=booking)
    keep = [o for o in options if o.kind == OptionKind.KEEP]
    assert len(keep) == 1
    assert keep[0].arrival_delay_minutes == 120
    assert keep[0].passenger_cost == 0
    assert keep[0].plan["steps"] == []
    assert not any(o.kind == OptionKind.REFUND for o in options)
    assert not keep[0].refund_eligible


def test_long_domestic_delay_is_refund_eligible(team, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    raise_disruption(team, original.leg_key, kind="delay", delay_minutes=200)
    options = booking_options_compute(booking=booking)
    assert options[-1].kind == OptionKind.REFUND
    assert "over the 3 h domestic limit" in options[-1].why


def test_connection_respects_minimum_connection_time(team, customer, inventory):
    inbound = flights("BOS", "JFK", service_date=DAY)[0]
    onward = next(
        f
        for f in flights("JFK", "SFO", service_date=DAY)
        if inbound.scheduled_arrival + timedelta(hours=1) <= f.scheduled_departure
    )
    booking = book(team, customer, [inbound, onward])
    raise_disruption(team, inbound.leg_key)
    options = [o for o in booking_options_compute(booking=booking) if o.kind != OptionKind.REFUND]
    assert options
    for option in options:
        legs = [
            (s["origin"], datetime.fromisoformat(s["departure"]), datetime.fromisoformat(s["arrival"]))
            for s in option.plan["steps"]
        ]
        if option.plan["kept_segment_ids"]:
            legs.append(("JFK", onward.scheduled_departure, onward.scheduled_arrival))
        for previous, following in itertools.pairwise(legs):
            assert following[1] - previous[2] >= timedelta(minutes=30), option.why
        final = datetime.fromisoformat(option.plan["final_arrival"])
        assert option.arrival_delay_minutes == int((final - onward.scheduled_arrival).total_seconds() // 60)
    kinds = {o.kind for o in options}
    assert OptionKind.GROUND in kinds  # BOS → New York by train or bus is short enough


def test_voluntary_change_charges_the_change_fee(team, customer, inventory):
    TeamFallbackSettings.objects.create(team=team, change_fee_voluntary=Decimal("50.00"))
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original], passengers=2)
    options = booking_options_compute(booking=booking)
    assert options
    assert all(o.alert_id is None and not o.involuntary for o in options)
    assert not any(o.kind == OptionKind.REFUND for o in options)
    same_route = [o for o in options if o.plan["steps"] and o.plan["steps"][0]["mode"] == "air"]
    assert all(o.change_fee == Decimal("100.00") for o in same_route)
    assert all(o.passenger_cost >= Decimal("100.00") for o in options)


def test_affected_bookings_count_only_counts_the_team_and_active_bookings(team, customer, inventory):
    leg = flights("JFK", "LAX", service_date=DAY)[0]
    book(team, customer, [leg])
    book(team, customer, [leg], passengers=2)
    other_team = TeamFactory()
    from fallbacks.tests.helpers import customer_of

    book(other_team, customer_of(other_team), [leg])
    assert affected_bookings_count(team.pk, leg.leg_key) == 2
    assert affected_bookings_count(team.pk, "XX1-2013-02-08-JFK") == 0


def test_fallbacks_endpoints(team, agent, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    alert = raise_disruption(team, original.leg_key)
    response = client_for(customer).get(f"/api/v1/bookings/{booking.pk}/fallbacks")
    assert response.status_code == 200
    options = response.json()["options"]
    assert options[0]["rank"] == 1
    assert options[0]["why"]
    assert options[0]["steps"]
    assert options[-1]["kind"] == "refund"
    again = client_for(customer).get(f"/api/v1/bookings/{booking.pk}/fallbacks").json()["options"]
    assert [o["id"] for o in again] == [o["id"] for o in options]  # still valid: not recomputed
    by_alert = client_for(agent).get(f"/api/v1/alerts/{alert.pk}/fallbacks")
    assert by_alert.status_code == 200
    [entry] = by_alert.json()["results"]
    assert entry["booking"]["id"] == booking.pk
    assert entry["options"]
    bookings = client_for(agent).get(f"/api/v1/alerts/{alert.pk}/bookings").json()["results"]
    assert [b["id"] for b in bookings] == [booking.pk]
    assert bookings[0]["on_leg_now"]
    outsider = member(TeamFactory())
    assert client_for(outsider).get(f"/api/v1/bookings/{booking.pk}/fallbacks").status_code == 404
    assert client_for(outsider).get(f"/api/v1/alerts/{alert.pk}/fallbacks").status_code == 404
