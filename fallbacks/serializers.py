"""Output serializers shared by several endpoints (inputs are nested in each API view)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from fallbacks.models import (
    Booking,
    BookingSegment,
    ChangeRequest,
    FallbackAction,
    FallbackOption,
    HotelReservation,
    InventoryFlight,
    TripNotice,
)


class AwareDateTimeField(serializers.DateTimeField):
    """A datetime that must carry its UTC offset: flight times without one are ambiguous."""

    default_error_messages = {
        "invalid": "Datetime has wrong format; use ISO 8601 with an offset, e.g. 2013-02-08T17:05:00-05:00.",
        "naive": "Datetime must include a UTC offset (e.g. -05:00 or Z).",
    }

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            parsed: datetime | None = value
        else:
            try:
                parsed = parse_datetime(str(value))
            except ValueError:
                parsed = None
        if parsed is None:
            self.fail("invalid")
        assert parsed is not None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.fail("naive")
        return parsed


class SegmentOutputSerializer(serializers.ModelSerializer[BookingSegment]):
    class Meta:
        model = BookingSegment
        fields = [
            "id",
            "position",
            "mode",
            "flight_number",
            "carrier",
            "origin",
            "destination",
            "service_date",
            "scheduled_departure",
            "scheduled_arrival",
            "leg_key",
            "cabin",
            "fare_class",
            "fare",
        ]


class BookingOutputSerializer(serializers.ModelSerializer[Booking]):
    customer = serializers.SerializerMethodField()
    segments = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "team_id",
            "reference",
            "customer",
            "passengers",
            "status",
            "total_paid",
            "currency",
            "priority_tier",
            "priority",
            "special_assistance",
            "created_at",
            "updated_at",
            "segments",
        ]

    def get_customer(self, booking: Booking) -> dict[str, Any]:
        return {"id": booking.customer_id, "email": booking.customer.email}

    def get_segments(self, booking: Booking) -> list[dict[str, Any]]:
        segments = getattr(booking, "active_segments", None)
        if segments is None:
            segments = booking.segments.filter(superseded_at__isnull=True).order_by("position", "id")
        return SegmentOutputSerializer(segments, many=True).data  # type: ignore[return-value]


class ActionOutputSerializer(serializers.ModelSerializer[FallbackAction]):
    class Meta:
        model = FallbackAction
        fields = [
            "id",
            "booking_id",
            "alert_id",
            "option_id",
            "kind",
            "mode",
            "outcome",
            "actor_id",
            "actor_label",
            "passenger_cost",
            "care_cost",
            "refund_amount",
            "currency",
            "summary",
            "detail",
            "created_at",
        ]


class HotelReservationOutputSerializer(serializers.ModelSerializer[HotelReservation]):
    hotel = serializers.CharField(source="hotel.name")

    class Meta:
        model = HotelReservation
        fields = ["id", "hotel_id", "hotel", "check_in", "nights", "rooms", "cost", "action_id"]


class ChangeRequestOutputSerializer(serializers.ModelSerializer[ChangeRequest]):
    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "booking_id",
            "requested_by_id",
            "message",
            "preferred_option_id",
            "status",
            "alert_id",
            "created_at",
            "closed_at",
        ]


class BookingDetailOutputSerializer(BookingOutputSerializer):
    actions = ActionOutputSerializer(source="fallback_actions", many=True)
    hotel_reservations = HotelReservationOutputSerializer(many=True)
    change_requests = ChangeRequestOutputSerializer(many=True)

    class Meta(BookingOutputSerializer.Meta):
        fields = [*BookingOutputSerializer.Meta.fields, "actions", "hotel_reservations", "change_requests"]


class OptionOutputSerializer(serializers.ModelSerializer[FallbackOption]):
    steps = serializers.SerializerMethodField()
    hotel = serializers.SerializerMethodField()
    final_arrival = serializers.SerializerMethodField()

    class Meta:
        model = FallbackOption
        fields = [
            "id",
            "booking_id",
            "alert_id",
            "kind",
            "status",
            "rank",
            "score",
            "why",
            "involuntary",
            "arrival_delay_minutes",
            "final_arrival",
            "change_fee",
            "fare_difference",
            "passenger_cost",
            "care_cost",
            "currency",
            "refund_eligible",
            "refund_amount",
            "steps",
            "hotel",
            "created_at",
            "expires_at",
        ]

    def get_steps(self, option: FallbackOption) -> list[dict[str, Any]]:
        return list(option.plan.get("steps", []))

    def get_hotel(self, option: FallbackOption) -> dict[str, Any] | None:
        return option.plan.get("hotel")

    def get_final_arrival(self, option: FallbackOption) -> str | None:
        return option.plan.get("final_arrival")


class NoticeOutputSerializer(serializers.ModelSerializer[TripNotice]):
    reference = serializers.CharField(source="booking.reference")

    class Meta:
        model = TripNotice
        fields = ["id", "booking_id", "reference", "alert_id", "kind", "message", "data", "created_at", "read_at"]


class InventoryFlightOutputSerializer(serializers.ModelSerializer[InventoryFlight]):
    seats_free = serializers.IntegerField()

    class Meta:
        model = InventoryFlight
        fields = [
            "id",
            "leg_key",
            "carrier",
            "flight_number",
            "origin",
            "destination",
            "service_date",
            "scheduled_departure",
            "scheduled_arrival",
            "seats",
            "seats_sold",
            "seats_free",
            "fare",
            "currency",
            "is_synthetic",
            "source",
        ]
