"""Ops console for bookings, inventory and fallbacks. Bookings, options and actions are
read-only here (they change through services); actions call the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from alertguardian.admin_base import ReadOnlyAdmin
from alertguardian.api import ApplicationError
from fallbacks.models import (
    Airport,
    Booking,
    BookingSegment,
    ChangeRequest,
    FallbackAction,
    FallbackOption,
    GroundRoute,
    Hotel,
    HotelNight,
    HotelReservation,
    InventoryFlight,
    TeamFallbackSettings,
    TripNotice,
)

SEGMENT_FIELDS = (
    "position",
    "mode",
    "flight_number",
    "origin",
    "destination",
    "scheduled_departure",
    "leg_key",
    "superseded_at",
)


SEGMENT_FIELDS = (
    "position",
    "mode",
    "flight_number",
    "origin",
    "destination",
    "scheduled_departure",
    "leg_key",
    "superseded_at",
)


class SegmentInline(admin.TabularInline):
    model = BookingSegment
    fk_name = "booking"
    extra = 0
    can_delete = False
    fields = SEGMENT_FIELDS
    readonly_fields = SEGMENT_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Booking)
class BookingAdmin(ReadOnlyAdmin):
    list_display = ["reference", "team", "customer", "passengers", "status", "priority_tier", "created_at"]
    list_filter = ["status", "priority_tier", "team"]
    search_fields = ["reference", "customer__email", "segments__leg_key"]
    inlines = [SegmentInline]
    actions = ["auto_rebook"]

    @admin.action(description="Auto-rebook on the best available option (disrupted bookings)")
    def auto_rebook(self, request: HttpRequest, queryset: QuerySet[Booking]) -> None:
        from fallbacks.services import booking_auto_rebook

        done, failed = 0, 0
        for booking in queryset:
            try:
                booking_auto_rebook(booking=booking, by=request.user)  # type: ignore[arg-type]
                done += 1
            except ApplicationError as exc:
                failed += 1
                self.message_user(request, f"{booking.reference}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} booking(s) rebooked, {failed} not.", messages.INFO)


@admin.register(InventoryFlight)
class InventoryFlightAdmin(admin.ModelAdmin):
    actions = ["reaccommodate"]
    list_display = [
        "leg_key",
        "origin",
        "destination",
        "scheduled_departure",
        "seats",
        "seats_sold",
        "fare",
        "is_synthetic",
    ]
    list_filter = ["service_date", "is_synthetic", "carrier", "origin"]
    search_fields = ["leg_key", "flight_number"]
    readonly_fields = ["seats_sold"]  # moved only by reservations, never by hand

    @admin.action(description="Re-accommodate the bookings of open disruption alerts on these flights")
    def reaccommodate(self, request: HttpRequest, queryset: QuerySet[InventoryFlight]) -> None:
        from alerts.models import OPEN_STATUSES, Alert
        from fallbacks.engine import disruption_from_alert
        from fallbacks.services import alert_reaccommodate

        legs = list(queryset.values_list("leg_key", flat=True))
        alerts = [
            a
            for a in Alert.objects.filter(resource__in=legs, status__in=OPEN_STATUSES)
            if disruption_from_alert(a) is not None
        ]
        if not alerts:
            self.message_user(request, "No open disruption alert on the selected flights.", messages.WARNING)
        for alert in alerts:
            result = alert_reaccommodate(alert_id=alert.pk, by=request.user)  # type: ignore[arg-type]
            self.message_user(
                request,
                f"Alert #{alert.pk} ({alert.resource}): {len(result.rebooked)} rebooked, "
                f"{len(result.failed)} without option, {len(result.already_handled)} already handled.",
                messages.WARNING if result.failed else messages.INFO,
            )


@admin.register(Airport)
class AirportAdmin(admin.ModelAdmin):
    list_display = ["iata", "name", "city", "country", "tz", "source"]
    search_fields = ["iata", "name", "city"]


@admin.register(Hotel)
class HotelAdmin(admin.ModelAdmin):
    list_display = ["name", "airport", "distance_km", "rooms_total", "nightly_rate", "provider", "is_synthetic"]
    list_filter = ["provider", "is_synthetic"]
    search_fields = ["name", "airport"]


@admin.register(HotelNight)
class HotelNightAdmin(ReadOnlyAdmin):
    list_display = ["hotel", "night", "rooms_total", "rooms_booked", "rate", "synced_at"]
    list_filter = ["night"]


@admin.register(GroundRoute)
class GroundRouteAdmin(admin.ModelAdmin):
    list_display = ["origin", "destination", "mode", "distance_km", "duration_minutes", "price", "frequency_minutes"]
    list_filter = ["mode"]
    search_fields = ["origin", "destination"]


@admin.register(TeamFallbackSettings)
class TeamFallbackSettingsAdmin(admin.ModelAdmin):
    list_display = ["team", "change_fee_voluntary", "change_fee_involuntary", "nearby_radius_km", "option_ttl_minutes"]


@admin.register(FallbackOption)
class FallbackOptionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "booking",
        "alert",
        "kind",
        "rank",
        "status",
        "arrival_delay_minutes",
        "passenger_cost",
        "expires_at",
    ]
    list_filter = ["kind", "status"]


@admin.register(FallbackAction)
class FallbackActionAdmin(ReadOnlyAdmin):
    list_display = ["id", "booking", "alert", "kind", "mode", "outcome", "actor_label", "passenger_cost", "created_at"]
    list_filter = ["kind", "mode", "outcome"]


@admin.register(HotelReservation)
class HotelReservationAdmin(ReadOnlyAdmin):
    list_display = ["booking", "hotel", "check_in", "nights", "rooms", "cost"]


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "booking", "requested_by", "status", "alert", "created_at"]
    list_filter = ["status"]


@admin.register(TripNotice)
class TripNoticeAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "booking", "kind", "created_at", "read_at"]
    list_filter = ["kind"]
