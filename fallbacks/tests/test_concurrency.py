"""Seats are never oversold: 50 agents apply rebookings onto a flight with 10 free seats at once."""

from __future__ import annotations

import threading
from collections import Counter

import psycopg
import pytest
from django.db import OperationalError, connection

from fallbacks.models import BookingSegment, FallbackAction, InventoryFlight
from fallbacks.providers import LocalDataProvider
from fallbacks.services import booking_options_compute, inventory_load
from fallbacks.tests.helpers import DAY, book, client_for, customer_of, flights, raise_disruption

PARALLEL = 50
FREE_SEATS = 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_rebookings_never_oversell(team, agent):
    inventory_load(start=DAY, days=1, routes={("JFK", "LAX")}, extras=False)
    cancelled, target = flights("JFK", "LAX", service_date=DAY)[:2]
    InventoryFlight.objects.filter(pk=target.pk).update(seats_sold=target.seats - FREE_SEATS)
    alert = raise_disruption(team, cancelled.leg_key)
    option_ids = []
    for _ in range(PARALLEL):
        booking = book(team, customer_of(team), [cancelled])
        options = booking_options_compute(booking=booking, alert=alert)
        option_ids.append(
            next(o.pk for o in options if o.plan["steps"] and o.plan["steps"][0]["leg_key"] == target.leg_key)
        )

    barrier = threading.Barrier(PARALLEL)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def apply(option_id: int) -> None:
        client = client_for(agent)
        try:
            barrier.wait()
            response = client.post(f"/api/v1/fallbacks/{option_id}/apply")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=apply, args=(option_id,)) for option_id in option_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: FREE_SEATS, 409: PARALLEL - FREE_SEATS}, statuses
    losers = [body for status, body in results if status == 409]
    assert all(body["details"]["reason"] == "sold_out" for body in losers)
    assert all(
        target.leg_key not in [s.get("leg_key") for s in (body["details"]["next_best"] or {}).get("steps", [])]
        for body in losers
    )
    target.refresh_from_db()
    assert target.seats_sold == target.seats
    assert FallbackAction.objects.filter(alert=alert).count() == FREE_SEATS
    assert BookingSegment.objects.filter(leg_key=target.leg_key, superseded_at__isnull=True).count() == FREE_SEATS


class DeadlockOnceProvider(LocalDataProvider):
    """PostgreSQL picks the first reservation as a deadlock victim (as it may when a bulk
    chunk holds the same inventory rows); the second attempt goes through."""

    failures: list[str] = []

    def reserve_seats(self, *, ref: str, seats: int) -> None:
        if not DeadlockOnceProvider.failures:
            DeadlockOnceProvider.failures.append(ref)
            try:
                raise psycopg.errors.DeadlockDetected("deadlock detected")
            except psycopg.errors.DeadlockDetected as cause:
                raise OperationalError("deadlock detected") from cause
        super().reserve_seats(ref=ref, seats=seats)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_deadlock_victim_is_retried_once(team, agent, settings):
    settings.FALLBACK_PROVIDERS = ["fallbacks.tests.test_concurrency.DeadlockOnceProvider"]
    DeadlockOnceProvider.failures.clear()
    inventory_load(start=DAY, days=1, routes={("JFK", "LAX")}, extras=False)
    cancelled = flights("JFK", "LAX", service_date=DAY)[0]
    booking = book(team, customer_of(team), [cancelled])
    alert = raise_disruption(team, cancelled.leg_key)
    option = booking_options_compute(booking=booking, alert=alert)[0]
    response = client_for(agent).post(f"/api/v1/fallbacks/{option.pk}/apply")
    assert response.status_code == 201, response.json()
    assert len(DeadlockOnceProvider.failures) == 1
    assert FallbackAction.objects.filter(booking=booking).count() == 1
