"""The "Affected bookings & fallbacks" panel on the board's alert page, and its form posts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from audit.models import AuditEntry
from fallbacks.models import BookingSegment, BookingStatus, FallbackAction, InventoryFlight, OptionKind
from fallbacks.services import booking_options_compute
from fallbacks.tests.helpers import DAY, book, flights, raise_disruption

pytestmark = pytest.mark.django_db


def board_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rebook_option(options: list[Any]) -> Any:
    return next(o for o in options if o.kind == OptionKind.REBOOK and o.plan["steps"][0]["mode"] == "air")


@pytest.fixture
def disrupted(team, customer, inventory):
    original = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer, [original], passengers=2)
    alert = raise_disruption(team, original.leg_key)
    options = booking_options_compute(booking=booking, alert=alert)
    return alert, booking, options, original


def test_panel_lists_bookings_and_ranked_options(agent, disrupted) -> None:
    alert, booking, options, _ = disrupted
    page = board_client(agent).get(f"/board/alerts/{alert.pk}/").content.decode()
    assert booking.reference in page
    assert options[0].why[:40] in page
    assert f"/board/fallbacks/options/{options[0].pk}/apply/" in page
    assert "Re-accommodate all" in page  # a cancellation


def test_viewers_see_options_without_action_buttons(team, disrupted) -> None:
    alert, booking, options, _ = disrupted
    viewer = member(team, team_role=TeamRole.VIEWER)
    page = board_client(viewer).get(f"/board/alerts/{alert.pk}/").content.decode()
    assert booking.reference in page and "/apply/" not in page
    refused = board_client(viewer).post(f"/board/fallbacks/options/{options[0].pk}/apply/", follow=True)
    assert "bookings.manage" in refused.content.decode()
    assert not FallbackAction.objects.exists()


def test_apply_from_the_page_rebooks_and_records(agent, disrupted) -> None:
    alert, booking, options, original = disrupted
    option = rebook_option(options)
    response = board_client(agent).post(f"/board/fallbacks/options/{option.pk}/apply/", follow=True)
    assert response.redirect_chain[-1][0] == f"/board/alerts/{alert.pk}/"
    assert f"Applied to booking {booking.reference}" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CHANGED
    assert FallbackAction.objects.filter(booking=booking, alert=alert, actor=agent).count() == 1
    assert AuditEntry.objects.filter(action__startswith="fallback", actor_id=agent.pk).exists()
    assert BookingSegment.objects.get(booking=booking, superseded_at__isnull=True).leg_key != original.leg_key


def test_a_sold_out_option_is_a_message_and_changes_nothing(agent, disrupted) -> None:
    _alert, booking, options, original = disrupted
    option = rebook_option(options)
    target = InventoryFlight.objects.get(leg_key=option.plan["steps"][0]["leg_key"])
    InventoryFlight.objects.filter(pk=target.pk).update(seats_sold=target.seats)

    response = board_client(agent).post(f"/board/fallbacks/options/{option.pk}/apply/", follow=True)

    assert response.status_code == 200
    assert "just taken" in response.content.decode() and "Next best" in response.content.decode()
    assert not FallbackAction.objects.exists()
    assert BookingSegment.objects.get(booking=booking).leg_key == original.leg_key


def test_reaccommodate_all_is_idempotent(agent, disrupted) -> None:
    alert, booking, _, _ = disrupted
    client = board_client(agent)
    first = client.post(f"/board/alerts/{alert.pk}/reaccommodate/", follow=True).content.decode()
    assert "1 rebooked" in first
    second = client.post(f"/board/alerts/{alert.pk}/reaccommodate/", follow=True).content.decode()
    assert "0 rebooked" in second
    assert FallbackAction.objects.filter(booking=booking, alert=alert).count() == 1


def test_auto_rebook_and_refresh(agent, disrupted) -> None:
    alert, booking, _, _ = disrupted
    client = board_client(agent)
    assert (
        "Suggestions refreshed"
        in client.post(f"/board/alerts/{alert.pk}/fallbacks/refresh/", follow=True).content.decode()
    )
    page = client.post(f"/board/alerts/{alert.pk}/bookings/{booking.pk}/auto-rebook/", follow=True).content.decode()
    assert f"Booking {booking.reference} rebooked" in page
    assert FallbackAction.objects.filter(booking=booking, alert=alert).count() == 1


def test_other_teams_and_customers_are_refused(disrupted, customer) -> None:
    alert, _booking, options, _ = disrupted
    outsider = member(TeamFactory.create(), team_role=TeamRole.ADMIN)
    for user in (outsider, customer):
        client = board_client(user)
        assert client.post(f"/board/fallbacks/options/{options[0].pk}/apply/").status_code == 404
        assert client.post(f"/board/alerts/{alert.pk}/reaccommodate/").status_code == 404
    assert not FallbackAction.objects.exists()
    assert board_client(UserFactory(role=UserRole.AGENT)).get(f"/board/alerts/{alert.pk}/").status_code == 404


def test_panel_query_count_does_not_grow_with_bookings(
    team, agent, customer, inventory, django_assert_max_num_queries
) -> None:
    original = flights("JFK", "LAX", service_date=DAY)[0]
    alert = raise_disruption(team, original.leg_key)
    for _ in range(30):
        booking_options_compute(booking=book(team, customer, [original]), alert=alert)
    client = board_client(agent)
    client.get(f"/board/alerts/{alert.pk}/")  # warm the session and caches
    with django_assert_max_num_queries(40):
        page = client.get(f"/board/alerts/{alert.pk}/").content.decode()
    assert page.count("fb__booking") == 30
