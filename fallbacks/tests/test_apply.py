from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.models import TeamRole
from accounts.tests.factories import member
from alerts.models import Alert, AlertEvent
from audit.models import AuditEntry
from fallbacks.models import (
    ActionMode,
    BookingSegment,
    BookingStatus,
    ChangeRequest,
    FallbackAction,
    FallbackOption,
    HotelNight,
    HotelReservation,
    InventoryFlight,
    OptionKind,
    OptionStatus,
    TripNotice,
)
from fallbacks.providers import LocalDataProvider
from fallbacks.services import booking_auto_rebook, booking_options_compute, fallback_option_apply
from fallbacks.tests.helpers import DAY, book, client_for, flights, live_events, raise_disruption

pytestmark = pytest.mark.django_db


def first_flight_option(options):
    return next(o for o in options if o.kind == OptionKind.REBOOK and o.plan["steps"][0]["mode"] == "air")


def test_apply_rebooks_moves_seats_and_records_everything(
    team, agent, customer, inventory, django_capture_on_commit_callbacks
):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original], passengers=2)
    alert = raise_disruption(team, original.leg_key)
    option = first_flight_option(booking_options_compute(booking=booking))
    target = InventoryFlight.objects.get(leg_key=option.plan["steps"][0]["leg_key"])
    original_sold = InventoryFlight.objects.get(pk=original.pk).seats_sold

    with (
        live_events(f"alert.{alert.pk}") as alert_events,
        live_events(f"user.{customer.pk}") as customer_events,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(agent).post(f"/api/v1/fallbacks/{option.pk}/apply")
    assert response.status_code == 201, response.json()

    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHANGED
    [segment] = BookingSegment.objects.filter(booking=booking, superseded_at__isnull=True)
    assert segment.leg_key == target.leg_key
    assert segment.position == 0
    assert segment.inventory_flight_id == target.pk
    old = BookingSegment.objects.get(booking=booking, leg_key=original.leg_key)
    assert old.superseded_at is not None
    assert InventoryFlight.objects.get(pk=target.pk).seats_sold == target.seats_sold + 2
    assert InventoryFlight.objects.get(pk=original.pk).seats_sold == original_sold - 2

    action = FallbackAction.objects.get(booking=booking)
    assert (action.kind, action.mode, action.outcome, action.actor_id) == (
        "rebook",
        ActionMode.MANUAL,
        "applied",
        agent.pk,
    )
    assert action.summary.startswith(f"Booking {booking.reference} rebooked on {target.flight_number}")
    assert old.pk == action.detail["replaced"][0]["id"]
    option.refresh_from_db()
    assert option.status == OptionStatus.APPLIED
    assert not FallbackOption.objects.filter(booking=booking, status=OptionStatus.OPEN).exists()

    event = AlertEvent.objects.get(alert=alert, kind="fallback")
    assert event.actor_id == agent.pk
    assert event.data["action_id"] == action.pk
    audit = AuditEntry.objects.get(action="fallback.applied")
    assert audit.target_id == str(action.pk)
    assert audit.team_id == team.pk
    assert audit.actor_id == agent.pk
    assert [e["type"] for e in alert_events] == ["alert.fallback_applied"]
    assert alert_events[0]["data"]["booking_id"] == booking.pk
    assert [e["type"] for e in customer_events] == ["booking.changed"]
    assert customer_events[0]["version"] == 1
    assert customer_events[0]["booking"]["status"] == "changed"
    notice = TripNotice.objects.get(booking=booking, kind="booking.changed")
    assert customer_events[0]["data"]["notice_id"] == notice.pk


def test_sold_out_option_is_409_with_the_next_best(team, agent, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    raise_disruption(team, original.leg_key)
    option = first_flight_option(booking_options_compute(booking=booking))
    target = InventoryFlight.objects.get(leg_key=option.plan["steps"][0]["leg_key"])
    InventoryFlight.objects.filter(pk=target.pk).update(seats_sold=target.seats)  # someone else took the seats

    response = client_for(agent).post(f"/api/v1/fallbacks/{option.pk}/apply")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "option_unavailable"
    assert body["details"]["reason"] == "sold_out"
    next_best = body["details"]["next_best"]
    assert next_best["id"] != option.pk
    assert target.leg_key not in [s.get("leg_key") for s in next_best["steps"]]
    assert FallbackAction.objects.count() == 0
    assert BookingSegment.objects.get(booking=booking).leg_key == original.leg_key
    assert InventoryFlight.objects.get(pk=original.pk).seats_sold == original.seats_sold  # rolled back


def test_expired_and_stale_options_are_refused(team, agent, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    raise_disruption(team, original.leg_key)
    options = booking_options_compute(booking=booking)
    FallbackOption.objects.filter(pk=options[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(agent).post(f"/api/v1/fallbacks/{options[0].pk}/apply")
    assert response.status_code == 409
    assert response.json()["details"]["reason"] == "expired"
    fallback_option_apply(option_id=options[1].pk, by=agent)
    again = client_for(agent).post(f"/api/v1/fallbacks/{options[2].pk}/apply")
    assert again.status_code == 409
    assert again.json()["details"]["reason"] == "superseded"


def test_customers_cannot_apply_and_other_teams_get_404(team, customer, inventory):
    from accounts.tests.factories import TeamFactory

    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    raise_disruption(team, original.leg_key)
    option = booking_options_compute(booking=booking)[0]
    assert client_for(customer).post(f"/api/v1/fallbacks/{option.pk}/apply").status_code == 403
    viewer = member(team, team_role=TeamRole.VIEWER)
    assert client_for(viewer).post(f"/api/v1/fallbacks/{option.pk}/apply").status_code == 403
    outsider = member(TeamFactory())
    assert client_for(outsider).post(f"/api/v1/fallbacks/{option.pk}/apply").status_code == 404
    assert client_for(outsider).post(f"/api/v1/bookings/{booking.pk}/auto-rebook").status_code == 404


def test_overnight_option_reserves_hotel_rooms(team, agent, customer, inventory):
    last = flights("LGA", "ATL", service_date=DAY)[-1]
    booking = book(team, customer, [last], passengers=3)
    raise_disruption(team, last.leg_key)
    option = next(o for o in booking_options_compute(booking=booking) if o.plan.get("hotel"))
    hotel = option.plan["hotel"]
    action = fallback_option_apply(option_id=option.pk, by=agent)
    reservation = HotelReservation.objects.get(action=action)
    assert (reservation.rooms, reservation.nights) == (2, 1)
    night = HotelNight.objects.get(hotel_id=int(hotel["ref"]), night=DAY)
    assert night.rooms_booked == 2
    assert action.care_cost == option.care_cost


def test_auto_rebook_is_idempotent_per_alert(team, agent, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    alert = raise_disruption(team, original.leg_key)
    response = client_for(agent).post(
        f"/api/v1/bookings/{booking.pk}/auto-rebook", {"alert_id": alert.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["already_applied"] is False
    assert response.json()["action"]["mode"] == "auto"
    second = client_for(agent).post(f"/api/v1/bookings/{booking.pk}/auto-rebook", {"alert_id": alert.pk}, format="json")
    assert second.status_code == 200
    assert second.json()["already_applied"] is True
    assert second.json()["action"]["id"] == response.json()["action"]["id"]
    assert FallbackAction.objects.filter(booking=booking).count() == 1
    assert AlertEvent.objects.filter(alert=alert, kind="fallback").count() == 1
    audit = AuditEntry.objects.get(action="fallback.applied")
    assert audit.data["mode"] == "auto"
    assert audit.actor_id == agent.pk
    assert client_for(customer).post(f"/api/v1/bookings/{booking.pk}/auto-rebook").status_code == 403


class RacedProvider(LocalDataProvider):
    """The local provider, but another sale takes the last seats of the first flight it is
    asked to reserve just before the conditional UPDATE runs (a lost race, deterministically)."""

    raced: list[str] = []

    def reserve_seats(self, *, ref: str, seats: int) -> None:
        if not RacedProvider.raced:
            RacedProvider.raced.append(ref)
            InventoryFlight.objects.filter(pk=int(ref)).update(seats_sold=F("seats"))
        super().reserve_seats(ref=ref, seats=seats)


def test_auto_rebook_moves_on_when_the_best_flight_sells_out(team, agent, customer, inventory, settings):
    settings.FALLBACK_PROVIDERS = ["fallbacks.tests.test_apply.RacedProvider"]
    RacedProvider.raced.clear()
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    alert = raise_disruption(team, original.leg_key)
    result = booking_auto_rebook(booking=booking, by=agent, alert=alert)
    [lost] = RacedProvider.raced
    assert result.action.detail["new"][0]["leg_key"] != InventoryFlight.objects.get(pk=int(lost)).leg_key
    assert FallbackAction.objects.filter(booking=booking).count() == 1
    assert FallbackOption.objects.filter(booking=booking, status=OptionStatus.APPLIED).count() == 1


def test_refund_releases_seats_and_closes_the_booking(team, agent, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original], passengers=2)
    raise_disruption(team, original.leg_key)
    refund = next(o for o in booking_options_compute(booking=booking) if o.kind == OptionKind.REFUND)
    sold = InventoryFlight.objects.get(pk=original.pk).seats_sold
    action = fallback_option_apply(option_id=refund.pk, by=agent)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.REFUNDED
    assert action.refund_amount == booking.total_paid
    assert not BookingSegment.objects.filter(booking=booking, superseded_at__isnull=True).exists()
    assert InventoryFlight.objects.get(pk=original.pk).seats_sold == sold - 2
    assert AuditEntry.objects.filter(action="fallback.applied", data__kind="refund").count() == 1


def test_customer_change_request_creates_a_task_alert(team, customer, inventory, django_capture_on_commit_callbacks):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original])
    client = client_for(customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/bookings/{booking.pk}/request-change", {"message": "Need a later flight"}, format="json"
        )
    assert response.status_code == 201, response.json()
    request = ChangeRequest.objects.get(pk=response.json()["id"])
    alert = Alert.objects.get(pk=request.alert_id)
    assert (alert.type, alert.team_id, alert.reported_by_id) == ("change_requested", team.pk, customer.pk)
    assert alert.resource == f"booking:{booking.reference}"
    assert alert.metadata["booking_id"] == booking.pk
    assert AuditEntry.objects.filter(action="booking.change_requested", target_id=str(booking.pk)).exists()
    again = client.post(f"/api/v1/bookings/{booking.pk}/request-change", {"message": "?"}, format="json")
    assert again.status_code == 409
    assert again.json()["details"]["change_request_id"] == request.pk
    other = book(team, customer, [original])
    bad = client.post(f"/api/v1/bookings/{other.pk}/request-change", {"preferred_option_id": 999999}, format="json")
    assert bad.status_code == 400
    assert "preferred_option_id" in bad.json()["details"]
    assert not ChangeRequest.objects.filter(booking=other).exists()
