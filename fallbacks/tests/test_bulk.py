from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.models import AlertEvent
from audit.models import AuditEntry
from fallbacks.models import BookingSegment, BookingStatus, FallbackAction, InventoryFlight, TripNotice
from fallbacks.services import alert_reaccommodate, fallbacks_for_alert
from fallbacks.tests.helpers import DAY, book, client_for, customer_of, flights, raise_disruption

pytestmark = pytest.mark.django_db


def state(alert):
    return (
        FallbackAction.objects.count(),
        list(BookingSegment.objects.order_by("id").values_list("id", "superseded_at", "position")),
        AlertEvent.objects.filter(alert=alert).count(),
        AuditEntry.objects.count(),
        list(InventoryFlight.objects.order_by("id").values_list("seats_sold", flat=True)),
    )


def test_bulk_rebooks_connecting_passengers_first_and_is_idempotent(team, agent, inventory):
    lax = flights("JFK", "LAX", service_date=DAY)
    inbound, cancelled = next(
        (b, f)
        for f in lax[:-1]
        for b in flights("BOS", "JFK")
        if timedelta(minutes=45) <= f.scheduled_departure - b.scheduled_arrival <= timedelta(hours=4)
    )
    spare = lax[lax.index(cancelled) + 1]
    # Only room for two passengers anywhere: every other JFK/EWR → LAX flight that day and the next is full.
    others = InventoryFlight.objects.filter(destination="LAX").exclude(pk=cancelled.pk)
    for flight in others:
        InventoryFlight.objects.filter(pk=flight.pk).update(seats_sold=flight.seats)
    InventoryFlight.objects.filter(pk=spare.pk).update(seats_sold=spare.seats - 2)

    early = book(team, customer_of(team), [cancelled], reference="EARLY1")
    book(team, customer_of(team), [cancelled], reference="LATE01")
    connecting = book(team, customer_of(team), [inbound, cancelled], reference="CONN01")
    alert = raise_disruption(team, cancelled.leg_key)

    result = alert_reaccommodate(alert_id=alert.pk, by=agent)

    assert result.considered == 3
    assert [r["reference"] for r in result.rebooked] == ["CONN01", "EARLY1"]
    assert [f["reference"] for f in result.failed] == ["LATE01"]
    assert "refund eligible" in result.failed[0]["reason"]
    for booking in (early, connecting):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CHANGED
        active = BookingSegment.objects.filter(booking=booking, superseded_at__isnull=True).order_by("position")
        assert spare.leg_key in [s.leg_key for s in active]
    connecting_legs = list(
        BookingSegment.objects.filter(booking=connecting, superseded_at__isnull=True)
        .order_by("position")
        .values_list("position", "leg_key")
    )
    assert connecting_legs == [(0, inbound.leg_key), (1, spare.leg_key)]
    assert InventoryFlight.objects.get(pk=spare.pk).seats_sold == spare.seats
    assert FallbackAction.objects.filter(alert=alert, mode="bulk").count() == 2
    summary = AlertEvent.objects.filter(alert=alert, kind="fallback").last()
    assert summary is not None
    assert summary.data["bulk"] is True
    assert summary.data["rebooked"] == 2
    assert summary.data["failed"] == 1
    assert AuditEntry.objects.filter(action="fallback.bulk_reaccommodated").count() == 1
    per_booking = AuditEntry.objects.filter(action="fallback.applied", data__mode="bulk")
    assert sorted(e.data["reference"] for e in per_booking) == ["CONN01", "EARLY1"]
    timeline = AlertEvent.objects.filter(alert=alert, kind="fallback").order_by("id")
    assert [e.data.get("reference") for e in timeline] == ["CONN01", "EARLY1", None]  # then the summary
    notices = TripNotice.objects.filter(kind="booking.changed").values_list("booking__reference", flat=True)
    assert sorted(notices) == ["CONN01", "EARLY1"]

    before = state(alert)
    second = alert_reaccommodate(alert_id=alert.pk, by=agent)
    assert second.rebooked == []
    assert sorted(second.already_handled) == sorted([early.pk, connecting.pk])
    assert [f["reference"] for f in second.failed] == ["LATE01"]
    assert state(alert) == before  # running it twice changes nothing


def test_bulk_endpoint_requires_bookings_manage(team, agent, customer, inventory):
    cancelled = flights("JFK", "LAX", service_date=DAY)[0]
    book(team, customer, [cancelled])
    alert = raise_disruption(team, cancelled.leg_key)
    # the customer may see the alert about their flight, but not act on it
    assert client_for(customer).post(f"/api/v1/alerts/{alert.pk}/reaccommodate").status_code == 403
    response = client_for(agent).post(f"/api/v1/alerts/{alert.pk}/reaccommodate")
    assert response.status_code == 200
    assert response.json()["rebooked_count"] == 1
    listed = client_for(agent).get(f"/api/v1/alerts/{alert.pk}/bookings").json()["results"]
    assert len(listed) == 1
    assert listed[0]["on_leg_now"] is False  # moved off the cancelled leg, still listed
    assert listed[0]["actions"][0]["mode"] == "bulk"


def test_escalation_entry_point_modes(team, customer, inventory):
    cancelled = flights("JFK", "LAX", service_date=DAY)[0]
    book(team, customer, [cancelled])
    alert = raise_disruption(team, cancelled.leg_key)
    suggested = fallbacks_for_alert(alert.pk, "suggest")
    assert suggested["bookings"] == 1
    assert suggested["options"] > 1
    rebooked = fallbacks_for_alert(alert.pk, "auto_rebook", run_id=7)
    assert rebooked["rebooked_count"] == 1
    action = FallbackAction.objects.get()
    assert action.actor_label == "escalation run 7"
    assert fallbacks_for_alert(alert.pk, "auto_rebook", run_id=7)["rebooked_count"] == 0
    with pytest.raises(Exception, match="Unknown fallback mode"):
        fallbacks_for_alert(alert.pk, "teleport")


def test_identical_itineraries_share_a_plan_but_each_booking_changes_its_own_segments(team, agent, inventory):
    cancelled = flights("JFK", "LAX", service_date=DAY)[0]
    bookings = [book(team, customer_of(team), [cancelled], reference=f"SAME0{i}") for i in range(3)]
    alert = raise_disruption(team, cancelled.leg_key)
    result = alert_reaccommodate(alert_id=alert.pk, by=agent)
    assert len(result.rebooked) == 3
    for booking in bookings:
        old = BookingSegment.objects.get(booking=booking, leg_key=cancelled.leg_key)
        assert old.superseded_at is not None
        action = FallbackAction.objects.get(booking=booking)
        assert old.superseded_by_id == action.pk
        assert action.detail["replaced"] == [
            {"id": old.pk, "leg_key": cancelled.leg_key, "origin": "JFK", "destination": "LAX"}
        ]
        [new] = BookingSegment.objects.filter(booking=booking, superseded_at__isnull=True)
        assert new.leg_key == action.detail["new"][0]["leg_key"]
