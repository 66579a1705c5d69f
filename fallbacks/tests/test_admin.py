from __future__ import annotations

import pytest

from accounts.models import User
from fallbacks.models import BookingStatus, FallbackAction, InventoryFlight
from fallbacks.tests.helpers import DAY, book, flights, raise_disruption

pytestmark = pytest.mark.django_db


def test_admin_action_reaccommodates_bookings_of_a_cancelled_flight(client, team, customer, inventory):
    admin_user = User.objects.create_superuser("ops@example.com", "pw-ops-123456")
    client.force_login(admin_user)
    cancelled = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [cancelled])
    raise_disruption(team, cancelled.leg_key)
    response = client.post(
        "/admin/fallbacks/inventoryflight/",
        {"action": "reaccommodate", "_selected_action": [InventoryFlight.objects.get(pk=cancelled.pk).pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 rebooked" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHANGED
    action = FallbackAction.objects.get(booking=booking)
    assert action.actor_id == admin_user.pk
    assert action.mode == "bulk"


def test_admin_booking_pages_render(client, team, customer, inventory):
    client.force_login(User.objects.create_superuser("ops2@example.com", "pw-ops-123456"))
    booking = book(team, customer, [flights("JFK", "LAX", service_date=DAY)[0]])
    for url in (
        "/admin/fallbacks/booking/",
        f"/admin/fallbacks/booking/{booking.pk}/change/",
        "/admin/fallbacks/inventoryflight/",
        "/admin/fallbacks/hotel/",
        "/admin/fallbacks/fallbackaction/",
    ):
        assert client.get(url).status_code == 200, url
