"""``GET /alerts/<id>``: the alert, its timeline and the caller's own state."""

from __future__ import annotations

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.apis.common import ALERTS_TAG, request_user
from alerts.selectors import alert_detail_get
from alerts.serializers import AlertCustomerDetailSerializer, AlertDetailSerializer, error_responses


class AlertDetailApi(APIView):
    @extend_schema(
        operation_id="alerts_retrieve",
        tags=[ALERTS_TAG],
        summary="One alert with its timeline",
        description=(
            "Staff get every field and the full timeline (`AlertDetail`). Customers get the public part "
            "(`AlertCustomerDetail`): no internal notes, escalation steps, assignees or actors."
        ),
        responses={
            200: PolymorphicProxySerializer(
                component_name="AlertDetailForCaller",
                serializers=[AlertDetailSerializer, AlertCustomerDetailSerializer],
                resource_type_field_name=None,
            ),
            **error_responses(404),
        },
    )
    def get(self, request: Request, alert_id: int) -> Response:
        detail = alert_detail_get(user=request_user(request), alert_id=alert_id)
        serializer_class = AlertCustomerDetailSerializer if detail.for_customer else AlertDetailSerializer
        return Response(serializer_class({"alert": detail.alert, "timeline": detail.timeline}).data)
