"""REST endpoints of the fallbacks app: thin views (validate, call one service, serialize)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts.models import TeamMembership, User, UserRole
from accounts.selectors import team_get_for_user, team_ids_with_capability
from alertguardian.api import DefaultCursorPagination, Forbidden, InvalidInput, NotFound
from alerts.selectors import alert_get_for_user
from fallbacks.engine import disruption_from_alert
from fallbacks.models import BookingStatus, Cabin, FallbackAction, InventoryFlight, PriorityTier
from fallbacks.selectors import (
    active_segments_prefetch,
    affected_bookings,
    booking_get_for_user,
    booking_list,
    bookings_ever_on_leg,
    bookings_visible_to,
    flight_alternatives,
    notices_for_user,
    option_get_for_user,
)
from fallbacks.serializers import (
    ActionOutputSerializer,
    AwareDateTimeField,
    BookingDetailOutputSerializer,
    BookingOutputSerializer,
    ChangeRequestOutputSerializer,
    InventoryFlightOutputSerializer,
    NoticeOutputSerializer,
    OptionOutputSerializer,
)
from fallbacks.services import (
    SegmentInput,
    alert_reaccommodate,
    booking_auto_rebook,
    booking_create,
    booking_options_current,
    change_request_create,
    fallback_option_apply,
    notice_mark_read,
)


def _paginate(request: Request, view: APIView, queryset: QuerySet[Any], render: Any, ordering: str = "-id") -> Response:
    paginator = DefaultCursorPagination()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(render(page))


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


@extend_schema_serializer(component_name="BookingFallbacks")
class BookingFallbacksOutput(serializers.Serializer):
    """Schema only: a booking with its ranked options."""

    booking = BookingOutputSerializer()
    options = OptionOutputSerializer(many=True)


@extend_schema_serializer(component_name="FallbackActionResult")
class ActionResultOutput(serializers.Serializer):
    """Schema only: what an apply or auto-rebook did."""

    action = ActionOutputSerializer()
    booking = BookingOutputSerializer()
    already_applied = serializers.BooleanField(required=False)


class BookingsApi(APIView):
    """GET: list visible bookings (filters ``flight``, ``date``, ``status``, ``customer``, ``team``).
    POST: create a booking (agents for their team's customers; customers for themselves)."""

    @extend_schema_serializer(component_name="BookingListFilter")
    class FilterSerializer(serializers.Serializer):
        flight = serializers.CharField(required=False, max_length=40)
        date = serializers.DateField(required=False)
        status = serializers.ChoiceField(choices=BookingStatus.choices, required=False)
        customer = serializers.CharField(required=False, max_length=254)
        team = serializers.IntegerField(required=False)

    @extend_schema_serializer(component_name="BookingSegmentInput")
    class SegmentSerializer(serializers.Serializer):
        flight_number = serializers.RegexField(
            r"^[A-Za-z0-9]{2}[0-9]{1,4}[A-Za-z]?$", error_messages={"invalid": "Use carrier + number, e.g. UA1545."}
        )
        carrier = serializers.CharField(required=False, allow_blank=True, max_length=3)
        origin = serializers.RegexField(r"^[A-Za-z]{3}$", error_messages={"invalid": "Use a 3-letter IATA code."})
        destination = serializers.RegexField(r"^[A-Za-z]{3}$", error_messages={"invalid": "Use a 3-letter IATA code."})
        service_date = serializers.DateField(required=False)
        scheduled_departure = AwareDateTimeField()
        scheduled_arrival = AwareDateTimeField()
        cabin = serializers.ChoiceField(choices=Cabin.choices, default=Cabin.ECONOMY)
        fare_class = serializers.CharField(required=False, allow_blank=True, max_length=2)
        fare = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True)

    @extend_schema_serializer(component_name="BookingCreateInput")
    class InputSerializer(serializers.Serializer):
        team = serializers.IntegerField(required=False)
        customer = serializers.CharField(required=False, max_length=254, help_text="Customer id or email (staff)")
        reference = serializers.RegexField(r"^[A-Za-z0-9]{5,12}$", required=False)
        passengers = serializers.IntegerField(min_value=1, max_value=9)
        total_paid = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, default=Decimal("0.00"))
        currency = serializers.RegexField(r"^[A-Za-z]{3}$", default="USD")
        priority_tier = serializers.ChoiceField(choices=PriorityTier.choices, default=PriorityTier.STANDARD)
        priority = serializers.IntegerField(min_value=-100, max_value=100, default=0)
        special_assistance = serializers.BooleanField(default=False)
        segments = serializers.ListField(child=serializers.DictField(), allow_empty=False, max_length=16)

        def validate_segments(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
            errors: list[dict[str, Any]] = []
            cleaned: list[dict[str, Any]] = []
            for item in value:
                segment = BookingsApi.SegmentSerializer(data=item)
                if segment.is_valid():
                    errors.append({})
                    cleaned.append(dict(segment.validated_data))
                else:
                    errors.append(dict(segment.errors))
            if any(errors):
                raise serializers.ValidationError(errors)
            return cleaned

    @extend_schema(parameters=[FilterSerializer], responses=BookingOutputSerializer(many=True), tags=["bookings"])
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        queryset = booking_list(
            user=_user(request),
            flight=data.get("flight", ""),
            service_date=data.get("date"),
            status=data.get("status", ""),
            customer=data.get("customer", ""),
            team_id=data.get("team"),
        )
        return _paginate(request, self, queryset, lambda page: BookingOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: BookingDetailOutputSerializer}, tags=["bookings"])
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = _user(request)
        team, customer = self._team_and_customer(user, data)
        booking = booking_create(
            team=team,
            customer=customer,
            by=user,
            segments=[SegmentInput(**segment) for segment in data["segments"]],
            passengers=data["passengers"],
            reference=data.get("reference", ""),
            total_paid=data["total_paid"],
            currency=data["currency"],
            priority_tier=data["priority_tier"],
            priority=data["priority"],
            special_assistance=data["special_assistance"],
        )
        booking = booking_get_for_user(user=user, booking_id=booking.pk)
        return Response(BookingDetailOutputSerializer(booking).data, status=status.HTTP_201_CREATED)

    def _team_and_customer(self, user: User, data: dict[str, Any]) -> tuple[Any, User]:
        if user.role == UserRole.CUSTOMER:
            customer_value = data.get("customer")
            if customer_value and customer_value not in {str(user.pk), user.email.lower()}:
                raise Forbidden("Customers can only create bookings for themselves.")
            team_ids = list(TeamMembership.objects.filter(user=user).values_list("team_id", flat=True))
            team_id = data.get("team") or (team_ids[0] if len(team_ids) == 1 else None)
            if team_id is None:
                raise InvalidInput("Say which team (travel agency) to book with.", details={"team": ["required"]})
            if team_id not in team_ids:
                raise NotFound("Team not found.")
            return TeamMembership.objects.get(user=user, team_id=team_id).team, user
        team_id = data.get("team")
        if team_id is None:
            managed = team_ids_with_capability(user=user, capability=caps.BOOKINGS_MANAGE) or []
            if len(managed) != 1:
                raise InvalidInput("Say which team the booking belongs to.", details={"team": ["required"]})
            team_id = managed[0]
        team = team_get_for_user(user=user, team_id=team_id, capability=caps.BOOKINGS_MANAGE)
        customer_value = str(data.get("customer") or "").strip()
        if not customer_value:
            raise InvalidInput("Say which customer the booking is for.", details={"customer": ["required"]})
        customers = User.objects.filter(role=UserRole.CUSTOMER, is_active=True)
        customer = (
            customers.filter(pk=int(customer_value)).first()
            if customer_value.isdigit()
            else customers.filter(email__iexact=customer_value).first()
        )
        if customer is None:
            raise InvalidInput("Unknown customer.", details={"customer": ["no active customer with this id or email"]})
        return team, customer


class BookingDetailApi(APIView):
    @extend_schema(responses=BookingDetailOutputSerializer, tags=["bookings"])
    def get(self, request: Request, booking_id: int) -> Response:
        booking = booking_get_for_user(user=_user(request), booking_id=booking_id)
        return Response(BookingDetailOutputSerializer(booking).data)


class BookingFallbacksApi(APIView):
    """Ranked options for the booking (current ones, or freshly computed; ``?refresh=1`` recomputes)."""

    @extend_schema(responses=BookingFallbacksOutput, tags=["fallbacks"])
    def get(self, request: Request, booking_id: int) -> Response:
        booking = booking_get_for_user(user=_user(request), booking_id=booking_id)
        refresh = request.query_params.get("refresh") in {"1", "true", "yes"}
        options = booking_options_current(booking=booking, refresh=refresh)
        return Response(
            {
                "booking": BookingOutputSerializer(booking).data,
                "options": OptionOutputSerializer(options, many=True).data,
            }
        )


class BookingRequestChangeApi(APIView):
    @extend_schema_serializer(component_name="BookingChangeRequestInput")
    class InputSerializer(serializers.Serializer):
        message = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
        preferred_option_id = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: ChangeRequestOutputSerializer},
        tags=["bookings"],
    )
    def post(self, request: Request, booking_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = _user(request)
        booking = booking_get_for_user(user=user, booking_id=booking_id)
        change_request = change_request_create(
            booking=booking,
            by=user,
            message=payload.validated_data["message"],
            preferred_option_id=payload.validated_data.get("preferred_option_id"),
        )
        return Response(ChangeRequestOutputSerializer(change_request).data, status=status.HTTP_201_CREATED)


class BookingAutoRebookApi(APIView):
    @extend_schema_serializer(component_name="BookingAutoRebookInput")
    class InputSerializer(serializers.Serializer):
        alert_id = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(
        request=InputSerializer,
        responses={201: ActionResultOutput, 200: ActionResultOutput},
        tags=["fallbacks"],
    )
    def post(self, request: Request, booking_id: int) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = _user(request)
        booking = booking_get_for_user(user=user, booking_id=booking_id, capability=caps.BOOKINGS_MANAGE)
        alert_id = payload.validated_data.get("alert_id")
        alert = alert_get_for_user(user=user, alert_id=alert_id) if alert_id else None
        result = booking_auto_rebook(booking=booking, by=user, alert=alert)
        booking = booking_get_for_user(user=user, booking_id=booking_id)
        return Response(
            {
                "already_applied": result.already_applied,
                "action": ActionOutputSerializer(result.action).data,
                "booking": BookingOutputSerializer(booking).data,
            },
            status=status.HTTP_200_OK if result.already_applied else status.HTTP_201_CREATED,
        )


class OptionApplyApi(APIView):
    @extend_schema(request=None, responses={201: ActionResultOutput}, tags=["fallbacks"])
    def post(self, request: Request, option_id: int) -> Response:
        user = _user(request)
        option = option_get_for_user(user=user, option_id=option_id)
        action = fallback_option_apply(option_id=option.pk, by=user)
        booking = booking_get_for_user(user=user, booking_id=option.booking_id)
        return Response(
            {"action": ActionOutputSerializer(action).data, "booking": BookingOutputSerializer(booking).data},
            status=status.HTTP_201_CREATED,
        )


class NoticeListApi(APIView):
    @extend_schema(responses=NoticeOutputSerializer(many=True), tags=["bookings"])
    def get(self, request: Request) -> Response:
        unread = request.query_params.get("unread") in {"1", "true", "yes"}
        queryset = notices_for_user(user=_user(request), unread_only=unread)
        return _paginate(request, self, queryset, lambda page: NoticeOutputSerializer(page, many=True).data)


class NoticeReadApi(APIView):
    @extend_schema(request=None, responses=NoticeOutputSerializer, tags=["bookings"])
    def post(self, request: Request, notice_id: int) -> Response:
        notice = notice_mark_read(notice_id=notice_id, user=_user(request))
        return Response(NoticeOutputSerializer(notice).data)


def _alert_leg(user: User, alert_id: int, capability: str = caps.ALERTS_READ) -> tuple[Any, str]:
    alert = alert_get_for_user(user=user, alert_id=alert_id, capability=capability)
    disruption = disruption_from_alert(alert)
    if disruption is None:
        raise InvalidInput(
            "This alert is not about a flight leg.", details={"alert": ["no flight leg key in its resource"]}
        )
    return alert, disruption.leg_key


class AlertBookingsApi(APIView):
    """Bookings on the alert's leg, including those already moved off it by a fallback."""

    @extend_schema(responses=BookingOutputSerializer(many=True), tags=["fallbacks"])
    def get(self, request: Request, alert_id: int) -> Response:
        user = _user(request)
        alert, leg = _alert_leg(user, alert_id)
        visible = bookings_visible_to(user=user).values("pk")
        queryset = bookings_ever_on_leg(team_id=alert.team_id, leg_key=leg).filter(pk__in=visible)
        queryset = queryset.prefetch_related(
            Prefetch("fallback_actions", queryset=FallbackAction.objects.filter(alert=alert), to_attr="alert_actions")
        )

        def render(page: list[Any]) -> list[dict[str, Any]]:
            rows = []
            for booking in page:
                row = dict(BookingOutputSerializer(booking).data)
                row["on_leg_now"] = any(s.leg_key == leg for s in booking.active_segments)
                row["actions"] = ActionOutputSerializer(booking.alert_actions, many=True).data
                rows.append(row)
            return rows

        return _paginate(request, self, queryset, render)


class AlertFallbacksApi(APIView):
    """Ranked options for every booking still on the alert's leg (one page of bookings at a time)."""

    @extend_schema(responses=BookingFallbacksOutput(many=True), tags=["fallbacks"])
    def get(self, request: Request, alert_id: int) -> Response:
        user = _user(request)
        alert, leg = _alert_leg(user, alert_id)
        refresh = request.query_params.get("refresh") in {"1", "true", "yes"}
        visible = bookings_visible_to(user=user).values("pk")
        queryset = (
            affected_bookings(team_id=alert.team_id, leg_key=leg)
            .filter(pk__in=visible)
            .select_related("customer")
            .prefetch_related(active_segments_prefetch())
        )

        def render(page: list[Any]) -> list[dict[str, Any]]:
            return [
                {
                    "booking": BookingOutputSerializer(booking).data,
                    "options": OptionOutputSerializer(
                        booking_options_current(booking=booking, alert=alert, refresh=refresh), many=True
                    ).data,
                }
                for booking in page
            ]

        return _paginate(request, self, queryset, render)


class AlertReaccommodateApi(APIView):
    """Rebook every affected booking (priority order); idempotent; partial failures listed."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, tags=["fallbacks"])
    def post(self, request: Request, alert_id: int) -> Response:
        user = _user(request)
        alert, _ = _alert_leg(user, alert_id, capability=caps.BOOKINGS_MANAGE)
        result = alert_reaccommodate(alert_id=alert.pk, by=user)
        return Response(result.as_json())


class InventoryFlightListApi(APIView):
    @extend_schema_serializer(component_name="InventoryFlightFilter")
    class FilterSerializer(serializers.Serializer):
        origin = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
        destination = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
        date = serializers.DateField(required=False)
        available = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=InventoryFlightOutputSerializer(many=True),
        tags=["inventory"],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        if not (data.get("origin") or data.get("destination") or data.get("date")):
            raise InvalidInput("Filter by origin, destination or date.", details={"origin": ["or destination/date"]})
        queryset = InventoryFlight.objects.all()
        if data.get("origin"):
            queryset = queryset.filter(origin=data["origin"].upper())
        if data.get("destination"):
            queryset = queryset.filter(destination=data["destination"].upper())
        if data.get("date"):
            queryset = queryset.filter(service_date=data["date"])
        if data["available"]:
            queryset = queryset.filter(seats__gt=F("seats_sold"))
        return _paginate(
            request,
            self,
            queryset,
            lambda page: InventoryFlightOutputSerializer(page, many=True).data,
            ordering="scheduled_departure",
        )


class FlightAlternativesApi(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=["inventory"])
    def get(self, request: Request, leg_key: str) -> Response:
        return Response(flight_alternatives(leg_key=leg_key.upper()))
