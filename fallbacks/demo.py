"""Demo data: a day of real inventory (2013-02-08, the "Nemo" blizzard, plus the next day
for overnight alternatives) and a handful of bookings for customer@demo.travel on team
"Demo Travel". Idempotent and quick; ``manage.py seed_demo`` calls ``seed_demo()``.

The booked flights are ones the data shows as cancelled that day, so replaying
2013-02-08 through the flight-events API disrupts them.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from accounts.demo import DemoContext
from accounts.models import Team, TeamMembership, TeamRole, User, UserRole
from fallbacks.models import Booking, InventoryFlight, PriorityTier
from fallbacks.services import booking_create, inventory_load, segment_input_from_inventory

logger = logging.getLogger(__name__)

DEMO_DAY = date(2013, 2, 8)
DEMO_TEAM = "Demo Travel"
DEMO_CUSTOMER = "customer@demo.travel"


def _first(**filters: object) -> InventoryFlight | None:
    return InventoryFlight.objects.filter(**filters).order_by("scheduled_departure", "id").first()


def _demo_itineraries() -> list[tuple[str, list[InventoryFlight], int, str]]:
    """(reference, legs, passengers, tier) picked from the loaded data by rule, not by id."""
    day = {"service_date": DEMO_DAY, "is_synthetic": False}
    picks: list[tuple[str, list[InventoryFlight], int, str]] = []
    morning = _first(origin="JFK", destination="LAX", historical_outcome="cancelled", **day) or _first(
        origin="JFK", destination="LAX", **day
    )
    if morning:
        picks.append(("DEMO01", [morning], 2, PriorityTier.STANDARD))
    evening = (
        InventoryFlight.objects.filter(origin="LGA", destination="ATL", **day).order_by("-scheduled_departure").first()
    )
    if evening:
        picks.append(("DEMO02", [evening], 1, PriorityTier.ELITE))
    chicago = _first(origin="EWR", destination="ORD", historical_outcome="cancelled", **day) or _first(
        origin="EWR", destination="ORD", **day
    )
    if chicago:
        back = _first(
            origin="ORD",
            destination="EWR",
            scheduled_departure__gte=chicago.scheduled_arrival + timedelta(days=1),
        )
        picks.append(("DEMO03", [chicago, back] if back else [chicago], 1, PriorityTier.STANDARD))
    # A connection through JFK: a (synthetic) BOS→JFK leg, then JFK→SFO 1-4 h later.
    for inbound in InventoryFlight.objects.filter(origin="BOS", destination="JFK", service_date=DEMO_DAY).order_by(
        "scheduled_departure"
    ):
        onward = _first(
            origin="JFK",
            destination="SFO",
            scheduled_departure__gte=inbound.scheduled_arrival + timedelta(hours=1),
            scheduled_departure__lte=inbound.scheduled_arrival + timedelta(hours=4),
        )
        if onward:
            picks.append(("DEMO04", [inbound, onward], 1, PriorityTier.PREMIUM))
            break
    florida = _first(origin="JFK", destination="MCO", historical_outcome="cancelled", **day)
    if florida:
        picks.append(("DEMO05", [florida], 4, PriorityTier.STANDARD))
    return picks


def seed_demo(ctx: DemoContext | None = None) -> dict[str, int]:
    result = inventory_load(start=DEMO_DAY, days=2)
    with transaction.atomic():
        team = Team.objects.filter(name=DEMO_TEAM).first() or Team.objects.create(name=DEMO_TEAM, slug="demo-travel")
        customer = User.objects.filter(email__iexact=DEMO_CUSTOMER).first()
        if customer is None:
            # The accounts demo normally creates it with a password; this keeps fallbacks' demo self-contained.
            customer = User.objects.create_user(DEMO_CUSTOMER, None, role=UserRole.CUSTOMER, full_name="Demo Customer")
        # Customers book with the team (agency) they belong to.
        TeamMembership.objects.get_or_create(team=team, user=customer, defaults={"role": TeamRole.VIEWER})
        created = 0
        for reference, legs, passengers, tier in _demo_itineraries():
            if Booking.objects.filter(team=team, reference=reference).exists():
                continue
            fare_total = sum((leg.fare for leg in legs), Decimal(0)) * passengers
            booking_create(
                team=team,
                customer=customer,
                by=customer,
                segments=[segment_input_from_inventory(leg) for leg in legs],
                passengers=passengers,
                reference=reference,
                total_paid=fare_total,
                priority_tier=tier,
            )
            created += 1
    logger.info("fallbacks demo: %s flights loaded, %s bookings created", result.flights_created, created)
    if ctx is not None:
        ctx.write(
            f"  inventory: {result.flights_created} flights loaded; bookings: {created} created for {DEMO_CUSTOMER}"
        )
    return {"flights_created": result.flights_created, "bookings_created": created}
