"""A user's notifications (the in-app inbox) and notification subscriptions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from alerts.filters import MAX_ID
from escalation import selectors
from escalation.exceptions import NotificationNotFound
from escalation.serializers import NotificationOutputSerializer, SubscriptionSerializer, SubscriptionsPutSerializer
from escalation.services.notifications import notification_mark_read, notifications_mark_all_read
from escalation.services.subscriptions import subscriptions_replace


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


class InboxPagination(LimitOffsetPagination):
    """Offsets, not cursors: the order (unread first, then newest) sorts on a nullable column."""

    default_limit = 50
    max_limit = 200


class NotificationListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, required=False)],
        responses=NotificationOutputSerializer(many=True),
        description="My in-app notifications: unread first, then newest first. The number of unread ones "
        'is in the `X-Unread-Count` header (counted up to 1,000: show 1000 as "999+").',
    )
    def get(self, request: Request) -> Response:
        unread = request.query_params.get("unread", "").lower()
        if unread not in ("", "true", "false", "1", "0"):
            raise serializers.ValidationError({"unread": ["true or false."]})
        queryset = selectors.notifications_for_user(user=_user(request), unread_only=unread in ("true", "1"))
        paginator = InboxPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        response = paginator.get_paginated_response(NotificationOutputSerializer(page, many=True).data)
        response["X-Unread-Count"] = str(selectors.notification_unread_count(user_id=_user(request).pk))
        return response


class NotificationReadApi(APIView):
    @extend_schema(request=None, responses=NotificationOutputSerializer)
    def post(self, request: Request, notification_id: int) -> Response:
        if not 0 < notification_id <= MAX_ID:
            raise NotificationNotFound()
        notification = notification_mark_read(user=_user(request), notification_id=notification_id)
        return Response(NotificationOutputSerializer(notification).data)


class NotificationReadAllApi(APIView):
    @extend_schema(request=None, responses={200: {"type": "object", "properties": {"marked": {"type": "integer"}}}})
    def post(self, request: Request) -> Response:
        return Response({"marked": notifications_mark_all_read(user=_user(request))})


class SubscriptionsApi(APIView):
    @extend_schema(responses=SubscriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = selectors.subscription_list(user=_user(request))
        return Response({"subscriptions": SubscriptionSerializer(rows, many=True).data})

    @extend_schema(
        request=SubscriptionsPutSerializer,
        responses=SubscriptionsPutSerializer,
        description="Replace my subscriptions. The most specific row (alert_type and severity, then "
        "alert_type, then severity, then the catch-all with both empty) picks the channels for an "
        "alert; without one, the defaults (in_app, email). in_app is always on.",
    )
    def put(self, request: Request) -> Response:
        payload = SubscriptionsPutSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rows = subscriptions_replace(user=_user(request), rows=payload.validated_data["subscriptions"])
        return Response({"subscriptions": SubscriptionSerializer(rows, many=True).data})
