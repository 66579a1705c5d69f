"""The caller's own read/dismiss state of an alert (idempotent; anyone who can see it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.apis.common import ALERTS_TAG, request_user
from alerts.models import AlertUserState
from alerts.selectors import alert_get_for_user, alert_unread_count
from alerts.serializers import AlertUserStateSerializer, error_responses
from alerts.services import alert_dismiss, alert_mark_read, alert_mark_unread, alert_undismiss


def _state_response(request: Request, alert_id: int, service: Callable[..., AlertUserState]) -> Response:
    user = request_user(request)
    alert = alert_get_for_user(user=user, alert_id=alert_id)
    state = service(alert=alert, user=user)
    data = {
        "alert_id": alert.pk,
        "read_at": state.read_at,
        "dismissed_at": state.dismissed_at,
        "unread_count": alert_unread_count(user=user),
    }
    return Response(AlertUserStateSerializer(data).data)


def _schema(operation_id: str, summary: str) -> Callable[[Any], Any]:
    return extend_schema(
        operation_id=operation_id,
        tags=[ALERTS_TAG],
        summary=summary,
        request=None,
        responses={200: AlertUserStateSerializer, **error_responses(404)},
    )


class AlertReadApi(APIView):
    @_schema("alerts_read", "Mark the alert read (for you)")
    def post(self, request: Request, alert_id: int) -> Response:
        return _state_response(request, alert_id, alert_mark_read)


class AlertUnreadApi(APIView):
    @_schema("alerts_unread", "Mark the alert unread again (for you)")
    def post(self, request: Request, alert_id: int) -> Response:
        return _state_response(request, alert_id, alert_mark_unread)


class AlertDismissApi(APIView):
    @_schema("alerts_dismiss", "Dismiss the alert: hidden from your list (yours only)")
    def post(self, request: Request, alert_id: int) -> Response:
        return _state_response(request, alert_id, alert_dismiss)


class AlertUndismissApi(APIView):
    @_schema("alerts_undismiss", "Bring a dismissed alert back into your list")
    def post(self, request: Request, alert_id: int) -> Response:
        return _state_response(request, alert_id, alert_undismiss)
