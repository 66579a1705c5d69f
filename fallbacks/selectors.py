"""Reads of the fallbacks app that also authorize (other teams' objects are 404).

Reading bookings needs ``ALERTS_READ`` in the booking's team (viewers included);
changing them needs ``BOOKINGS_MANAGE``. Customers see only their own bookings.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts import capabilities as caps
from accounts.models import User, UserRole
from accounts.selectors import team_ids_with_capability, user_has_capability
from alertguardian.api import Forbidden, NotFound
from alerts.hooks import BookingRef
from fallbacks.engine import SearchContext
from fallbacks.models import (
    ACTIVE_BOOKING_STATUSES,
    AlternativeRouteCache,
    Booking,
    BookingSegment,
    FallbackOption,
    InventoryFlight,
    TeamFallbackSettings,
    TripNotice,
)


def active_segments_prefetch() -> Prefetch:
    return Prefetch(
        "segments",
        queryset=BookingSegment.objects.filter(superseded_at__isnull=True).order_by("position", "id"),
        to_attr="active_segments",
    )


def bookings_visible_to(*, user: User, capability: str = caps.ALERTS_READ) -> QuerySet[Booking]:
    if not user.is_authenticated or not user.is_active:
        return Booking.objects.none()
    if user.role == UserRole.CUSTOMER:
        return Booking.objects.filter(customer_id=user.pk)
    team_ids = team_ids_with_capability(user=user, capability=capability)
    if team_ids is None:
        return Booking.objects.all()
    return Booking.objects.filter(team_id__in=team_ids)


def booking_get_for_user(*, user: User, booking_id: int, capability: str = caps.ALERTS_READ) -> Booking:
    """The booking if the user may see it; 404 otherwise. Seeing it but lacking
    ``capability`` (a customer asking to auto-rebook) is 403."""
    booking = (
        bookings_visible_to(user=user)
        .filter(pk=booking_id)
        .select_related("team", "customer")
        .prefetch_related(active_segments_prefetch())
        .first()
    )
    if booking is None:
        raise NotFound("Booking not found.")
    if capability != caps.ALERTS_READ and not user_has_capability(
        user=user, capability=capability, team_id=booking.team_id
    ):
        raise Forbidden(f"You need the {capability} permission on this team.")
    return booking


def booking_list(
    *,
    user: User,
    flight: str = "",
    service_date: date | None = None,
    status: str = "",
    customer: str = "",
    team_id: int | None = None,
) -> QuerySet[Booking]:
    """Filters: ``flight`` is a flight number (UA1545) or a leg key; ``service_date`` the
    local departure date of any active leg; ``customer`` an id or an email (staff only)."""
    queryset = bookings_visible_to(user=user)
    if team_id is not None:
        queryset = queryset.filter(team_id=team_id)
    if status:
        queryset = queryset.filter(status=status)
    segment_filter = Q(booking_id=OuterRef("pk"), superseded_at__isnull=True)
    if flight:
        flight = flight.upper()
        segment_filter &= Q(leg_key=flight) if flight.count("-") == 4 else Q(flight_number=flight)
    if service_date is not None:
        segment_filter &= Q(service_date=service_date)
    if flight or service_date is not None:
        queryset = queryset.filter(Exists(BookingSegment.objects.filter(segment_filter)))
    if customer and user.role != UserRole.CUSTOMER:
        queryset = (
            queryset.filter(customer_id=int(customer))
            if customer.isdigit()
            else queryset.filter(customer__email__iexact=customer)
        )
    return queryset.select_related("customer").prefetch_related(active_segments_prefetch())


# --- Affected bookings -------------------------------------------------------------------


def affected_bookings(*, team_id: int, leg_key: str) -> QuerySet[Booking]:
    """Active bookings of the team with a current (not replaced) segment on the leg."""
    return Booking.objects.filter(
        team_id=team_id,
        status__in=ACTIVE_BOOKING_STATUSES,
        segments__leg_key=leg_key,
        segments__superseded_at__isnull=True,
    ).distinct()


def affected_bookings_count(team_id: int, leg_key: str) -> int:
    """How many of the team's active bookings fly on the leg."""
    return affected_bookings_counts(team_id, [leg_key]).get(leg_key, 0)


def affected_bookings_counts(team_id: int, leg_keys: list[str]) -> dict[str, int]:
    """``affected_bookings_count`` for many legs in one query. Positional on purpose: the
    ingestion app calls it through its counter registry as ``counter(team_id, leg_keys)``."""
    rows = (
        BookingSegment.objects.filter(
            leg_key__in=leg_keys,
            superseded_at__isnull=True,
            booking__team_id=team_id,
            booking__status__in=ACTIVE_BOOKING_STATUSES,
        )
        .values("leg_key")
        .annotate(bookings=Count("booking_id", distinct=True))
    )
    return {row["leg_key"]: row["bookings"] for row in rows}


def bookings_ever_on_leg(*, team_id: int, leg_key: str) -> QuerySet[Booking]:
    """Bookings that are or were (before a fallback replaced it) on the leg: the alert's
    booking list keeps showing re-accommodated passengers."""
    return (
        Booking.objects.filter(
            team_id=team_id, pk__in=BookingSegment.objects.filter(leg_key=leg_key).values("booking_id")
        )
        .select_related("customer")
        .prefetch_related(active_segments_prefetch())
    )


# --- Hooks used by other apps -------------------------------------------------------------


def booking_ref_for_customer(user: User, reference: str) -> BookingRef | None:
    """Resolve a customer's own booking reference (case-insensitive), or ``None``.
    Never resolves another customer's booking."""
    if not user.is_authenticated or not reference:
        return None
    booking = (
        Booking.objects.filter(customer_id=user.pk, reference__iexact=reference.strip())
        .prefetch_related(active_segments_prefetch())
        .order_by("-id")
        .first()
    )
    if booking is None:
        return None
    segments = [s for s in booking.active_segments if s.mode == "air"]  # type: ignore[attr-defined]
    return BookingRef(
        booking_id=booking.pk,
        team_id=booking.team_id,
        reference=booking.reference,
        resource=segments[0].leg_key if segments else "",
    )


def customer_alerts_q(user: User) -> Q:
    """Alerts a customer may see because they concern a leg of one of their bookings in
    the alert's team (registered in ``alerts.selectors.CUSTOMER_VISIBILITY_HOOKS``)."""
    return Q(
        Exists(
            BookingSegment.objects.filter(
                booking__customer_id=user.pk,
                booking__team_id=OuterRef("team_id"),
                leg_key=OuterRef("resource"),
            )
        )
    )


# --- Settings, options, notices -------------------------------------------------------------


def team_fallback_settings(*, team_id: int) -> TeamFallbackSettings:
    """The team's row, or an unsaved one with the defaults."""
    return TeamFallbackSettings.objects.filter(team_id=team_id).first() or TeamFallbackSettings(team_id=team_id)


def option_get_for_user(*, user: User, option_id: int, capability: str = caps.BOOKINGS_MANAGE) -> FallbackOption:
    option = (
        FallbackOption.objects.filter(pk=option_id, booking__in=bookings_visible_to(user=user))
        .select_related("booking")
        .first()
    )
    if option is None:
        raise NotFound("Fallback option not found.")
    if not user_has_capability(user=user, capability=capability, team_id=option.team_id):
        raise Forbidden(f"You need the {capability} permission on this team.")
    return option


def notices_for_user(*, user: User, unread_only: bool = False) -> QuerySet[TripNotice]:
    queryset = TripNotice.objects.filter(customer_id=user.pk).select_related("booking")
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    return queryset


# --- Inventory -------------------------------------------------------------------------------


def flight_alternatives_compute(
    *, flight: InventoryFlight, radius_km: int = 150, limit: int = 5
) -> list[dict[str, Any]]:
    """Flights to the same destination from the same or a nearby airport, leaving within
    24 h after ``flight`` with at least one free seat (cancelled legs excluded)."""
    context = SearchContext()
    origins = [flight.origin, *(code for code, _ in context.nearby(flight.origin, radius_km))]
    offers = context.flights(
        origins=origins,
        destinations=[flight.destination],
        start=flight.scheduled_departure,
        end=flight.scheduled_departure + timedelta(hours=24),
        seats=1,
        exclude=[flight.leg_key],
    )
    return [
        {
            "leg_key": o.leg_key,
            "provider": o.provider,
            "ref": o.ref,
            "origin": o.origin,
            "destination": o.destination,
            "departure": o.departure.isoformat(),
            "arrival": o.arrival.isoformat(),
            "seats_free": o.seats_free,
            "fare": str(o.fare),
        }
        for o in offers[:limit]
    ]


def flight_alternatives(*, leg_key: str, now: datetime | None = None) -> dict[str, Any]:
    """The cached alternatives of an at-risk flight (periodic job), or computed now."""
    now = now or timezone.now()
    cached = AlternativeRouteCache.objects.filter(leg_key=leg_key, expires_at__gt=now).first()
    if cached is not None:
        return {
            "leg_key": leg_key,
            "cached": True,
            "reason": cached.reason,
            "computed_at": cached.computed_at.isoformat(),
            "alternatives": cached.alternatives,
        }
    flight = InventoryFlight.objects.filter(leg_key=leg_key).first()
    if flight is None:
        raise NotFound("Flight not found in the inventory.")
    return {
        "leg_key": leg_key,
        "cached": False,
        "reason": "",
        "computed_at": now.isoformat(),
        "alternatives": flight_alternatives_compute(flight=flight),
    }
