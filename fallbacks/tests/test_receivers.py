from __future__ import annotations

import pytest

from accounts.tests.factories import TeamFactory
from alerts.selectors import alerts_visible_to
from audit.models import AuditEntry
from fallbacks.models import FallbackOption, TripNotice
from fallbacks.selectors import booking_ref_for_customer
from fallbacks.services import alert_disruption_process
from fallbacks.tests.helpers import DAY, book, client_for, customer_of, flights, live_events, raise_disruption

pytestmark = pytest.mark.django_db


def test_new_disruption_alert_notifies_customers_and_prepares_options(
    team, customer, inventory, eager_celery, django_capture_on_commit_callbacks
):
    leg = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [leg])
    bystander = customer_of(team)
    book(team, bystander, [flights("LGA", "ATL", service_date=DAY)[0]])

    with live_events(f"user.{customer.pk}") as events, django_capture_on_commit_callbacks(execute=True):
        alert = raise_disruption(team, leg.leg_key)

    notice = TripNotice.objects.get(booking=booking, kind="trip.disrupted")
    assert notice.alert_id == alert.pk
    assert "is cancelled" in notice.message
    assert leg.flight_number in notice.message
    assert not TripNotice.objects.filter(customer=bystander).exists()
    assert FallbackOption.objects.filter(booking=booking, alert=alert, status="open").count() > 1
    disrupted = [e for e in events if e["type"] == "trip.disrupted"]
    assert len(disrupted) == 1
    assert disrupted[0]["version"] == 1
    assert disrupted[0]["data"]["notice_id"] == notice.pk
    assert disrupted[0]["data"]["leg_key"] == leg.leg_key
    assert AuditEntry.objects.filter(action="trip.customer_notified", target_id=str(booking.pk)).count() == 1

    # a redelivered task notifies nobody twice
    alert_disruption_process(alert_id=alert.pk)
    assert TripNotice.objects.filter(booking=booking, kind="trip.disrupted").count() == 1

    client = client_for(customer)
    listed = client.get("/api/v1/bookings/notices", {"unread": "1"}).json()["results"]
    assert [n["id"] for n in listed] == [notice.pk]
    assert client.post(f"/api/v1/bookings/notices/{notice.pk}/read").json()["read_at"]
    assert client.get("/api/v1/bookings/notices", {"unread": "1"}).json()["results"] == []
    assert client_for(bystander).post(f"/api/v1/bookings/notices/{notice.pk}/read").status_code == 404


def test_disruption_alerts_raised_together_each_notify_their_customers(
    team, customer, inventory, eager_celery, django_capture_on_commit_callbacks
):
    from alerts.models import AlertSource
    from alerts.services.lifecycle import NewAlert, alerts_raise_many

    first, second = flights("JFK", "LAX", service_date=DAY)[0], flights("LGA", "ATL", service_date=DAY)[0]
    other = customer_of(team)
    bookings = [book(team, customer, [first]), book(team, other, [second])]
    with django_capture_on_commit_callbacks(execute=True):
        alerts_raise_many(
            team=team,
            source=AlertSource.FLIGHT_EVENTS,
            alerts=[
                NewAlert(
                    type="flight_cancelled",
                    severity="critical",
                    title=f"{leg.leg_key} cancelled",
                    resource=leg.leg_key,
                    dedup_key=f"flight:{leg.leg_key}:cancelled",
                )
                for leg in (first, second)
            ],
        )
    for booking in bookings:
        assert TripNotice.objects.filter(booking=booking, kind="trip.disrupted").count() == 1
        assert FallbackOption.objects.filter(booking=booking, status="open").exists()


def test_non_flight_alerts_are_ignored(team, customer, inventory, eager_celery, django_capture_on_commit_callbacks):
    from alerts.services import alert_raise

    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(team=team, type="payment_failed", severity="high", title="Payment gateway down")
    assert not TripNotice.objects.exists()
    assert not FallbackOption.objects.exists()


def test_customers_see_alerts_about_their_own_legs_only(team, customer, inventory):
    leg = flights("JFK", "LAX", service_date=DAY)[0]
    book(team, customer, [leg])
    alert = raise_disruption(team, leg.leg_key)
    other_team = TeamFactory()
    stranger = customer_of(other_team)
    book(other_team, stranger, [leg])  # same flight, different agency
    assert list(alerts_visible_to(user=customer)) == [alert]
    assert list(alerts_visible_to(user=stranger)) == []
    assert list(alerts_visible_to(user=customer_of(team))) == []


def test_booking_reference_resolver_for_customer_reports(team, customer, inventory):
    leg = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [leg], reference="RESOLV")
    ref = booking_ref_for_customer(customer, " resolv ")
    assert ref is not None
    assert (ref.booking_id, ref.team_id, ref.resource) == (booking.pk, team.pk, leg.leg_key)
    assert booking_ref_for_customer(customer_of(team), "RESOLV") is None
    assert booking_ref_for_customer(customer, "NOPE00") is None
