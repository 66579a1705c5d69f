"""``/alerts``: list and create (customer report or manual alert), unread count, broadcast."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts.models import UserRole
from alerts.apis.common import ALERTS_TAG, AlertCursorPagination, alert_item_response, request_user
from alerts.filters import MAX_ID, AlertFilterSerializer
from alerts.models import Severity
from alerts.selectors import alert_list, alert_unread_count, team_get_for_alert_action
from alerts.serializers import AlertItemSerializer, AlertPageSerializer, error_responses
from alerts.services import alert_broadcast, alert_create_manual, alert_report_by_customer
from alerts.services.reports import CUSTOMER_REPORT_KINDS


class AlertCollectionApi(APIView):
    """GET: the caller's alerts. POST: a customer reports a problem, or staff raise an alert."""

    class ReportInputSerializer(serializers.Serializer):
        """A customer's report of a problem with one of their bookings."""

        kind = serializers.ChoiceField(choices=sorted(CUSTOMER_REPORT_KINDS))
        booking = serializers.CharField(max_length=100, help_text="Your booking reference (or booking id).")
        message = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "AlertCustomerReport"

        def validate(self, attrs: dict[str, str]) -> dict[str, str]:
            if attrs["kind"] == "other" and not attrs["message"].strip():
                raise serializers.ValidationError({"message": ["Describe the problem."]})
            return attrs

    class ManualInputSerializer(serializers.Serializer):
        """An alert raised by hand by staff, for a team where they hold alerts.manage."""

        team = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        type = serializers.RegexField(
            r"^[a-z][a-z0-9_]{0,63}$", max_length=64, help_text="snake_case, e.g. payment_failed."
        )
        severity = serializers.ChoiceField(choices=Severity.choices)
        title = serializers.CharField(max_length=300)
        message = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
        resource = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "AlertManualCreate"

    @extend_schema(
        operation_id="alerts_list",
        tags=[ALERTS_TAG],
        summary="List alerts visible to you",
        description=(
            "Staff see their teams' alerts, customers their own reports and alerts about their "
            "bookings. Alerts you dismissed are left out unless `include_dismissed=true`. "
            "Newest first, cursor-paginated (`page_size` up to 200, default 50)."
        ),
        parameters=[
            AlertFilterSerializer,
            OpenApiParameter("cursor", OpenApiTypes.STR, description="From a previous page's next/previous."),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="1-200, default 50."),
        ],
        responses={200: AlertPageSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        filters = AlertFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = alert_list(user=request_user(request), filters=filters.validated_data)
        paginator = AlertCursorPagination()
        page = paginator.paginate_queryset(alerts, request, view=self)
        return paginator.get_paginated_response(AlertItemSerializer(page, many=True).data)

    @extend_schema(
        operation_id="alerts_create",
        tags=[ALERTS_TAG],
        summary="Report a problem (customers) or raise an alert by hand (staff)",
        description=(
            "Customers send `AlertCustomerReport`: the booking must be one of theirs; the alert goes "
            "to the team handling it (a second report of the same kind on the same booking while the "
            "first is open is folded into it: 200 instead of 201). Staff send `AlertManualCreate` for a "
            "team where they hold alerts.manage."
        ),
        request=PolymorphicProxySerializer(
            component_name="AlertCreate",
            serializers=[ReportInputSerializer, ManualInputSerializer],
            resource_type_field_name=None,
        ),
        responses={201: AlertItemSerializer, 200: AlertItemSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        if user.role == UserRole.CUSTOMER:
            report = self.ReportInputSerializer(data=request.data)
            report.is_valid(raise_exception=True)
            result = alert_report_by_customer(customer=user, **report.validated_data)
            return alert_item_response(user=user, alert_id=result.alert.pk, status=201 if result.created else 200)
        manual = self.ManualInputSerializer(data=request.data)
        manual.is_valid(raise_exception=True)
        data = dict(manual.validated_data)
        team = team_get_for_alert_action(user=user, team_id=data.pop("team"), capability=caps.ALERTS_MANAGE)
        alert = alert_create_manual(team=team, by=user, **data)
        return alert_item_response(user=user, alert_id=alert.pk, status=201)


class AlertUnreadCountApi(APIView):
    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField()

        class Meta:
            ref_name = "AlertUnreadCount"

    @extend_schema(
        operation_id="alerts_unread_count",
        tags=[ALERTS_TAG],
        summary="How many open alerts you have not read",
        description=(
            "Open (triggered or acknowledged) alerts visible to you that you have neither read nor "
            "dismissed — the same set as `GET /alerts?unread=true&status=triggered,acknowledged`. "
            "Changes are pushed live to `user.<id>` as `unread.count` events."
        ),
        responses={200: OutputSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer({"count": alert_unread_count(user=request_user(request))}).data)


class AlertBroadcastApi(APIView):
    class InputSerializer(serializers.Serializer):
        team = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        title = serializers.CharField(max_length=300)
        message = serializers.CharField(max_length=10000)
        severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)

        class Meta:
            ref_name = "AlertBroadcast"

    @extend_schema(
        operation_id="alerts_broadcast",
        tags=[ALERTS_TAG],
        summary="Broadcast a message to every staff member of a team",
        description=(
            "Needs alerts.broadcast on the team (team owners/admins, platform admins). Raises an alert "
            "with source `broadcast` on the team board and pushes an `alert.broadcast` event to each "
            "staff member's personal channel."
        ),
        request=InputSerializer,
        responses={201: AlertItemSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        team = team_get_for_alert_action(user=user, team_id=data.pop("team"), capability=caps.ALERTS_BROADCAST)
        alert = alert_broadcast(team=team, by=user, **data)
        return alert_item_response(user=user, alert_id=alert.pk, status=201)
