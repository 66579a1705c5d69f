"""Helpers shared by the alert views."""

from __future__ import annotations

from typing import Any, cast

from rest_framework import exceptions as drf_exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from alertguardian.api import DefaultCursorPagination, InvalidInput
from alerts.selectors import alert_get_with_state
from alerts.serializers import AlertItemSerializer

ALERTS_TAG = "alerts"


def request_user(request: Request) -> User:
    """The authenticated caller (every alert view requires authentication)."""
    return cast(User, request.user)


class AlertCursorPagination(DefaultCursorPagination):
    """Newest first. A cursor that was tampered with is bad input (400), not a missing page."""

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except drf_exceptions.NotFound as exc:
            raise InvalidInput(
                "Invalid cursor.", details={"cursor": ["Invalid cursor; follow the next/previous links as given."]}
            ) from exc


def alert_item_response(*, user: User, alert_id: int, status: int = 200) -> Response:
    """The alert as the caller now sees it (after an action), with their read/dismiss flags."""
    return Response(AlertItemSerializer(alert_get_with_state(user=user, alert_id=alert_id)).data, status=status)
