"""State changes of one alert: acknowledge, undo, resolve, reopen, assign, note.

Each view fetches the alert through ``alert_get_for_user`` with the capability the action
needs (another team's alert → 404; visible but not allowed → 403) before it looks at the
body, then calls one service; a transition the current state forbids → 409 with that state.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from alerts.apis.common import ALERTS_TAG, alert_item_response, request_user
from alerts.filters import MAX_ID
from alerts.selectors import alert_get_for_user, assignee_get_for_team
from alerts.serializers import AlertEventSerializer, AlertItemSerializer, error_responses
from alerts.services import (
    alert_acknowledge,
    alert_assign,
    alert_note_add,
    alert_reopen,
    alert_resolve,
    alert_unacknowledge,
)

NOTE_MAX_LENGTH = 4000


class AlertAcknowledgeApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "AlertAcknowledge"

    @extend_schema(
        operation_id="alerts_acknowledge",
        tags=[ALERTS_TAG],
        summary="Acknowledge a triggered alert (stops its escalation)",
        request=InputSerializer,
        responses={200: AlertItemSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = request_user(request)
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=caps.ALERTS_MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert_acknowledge(alert_id=alert.pk, by=user, note=serializer.validated_data["note"])
        return alert_item_response(user=user, alert_id=alert.pk)


class AlertUnacknowledgeApi(APIView):
    @extend_schema(
        operation_id="alerts_unacknowledge",
        tags=[ALERTS_TAG],
        summary="Undo an acknowledge (the alert is triggered again and escalation restarts)",
        request=None,
        responses={200: AlertItemSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = request_user(request)
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=caps.ALERTS_MANAGE)
        alert_unacknowledge(alert_id=alert.pk, by=user)
        return alert_item_response(user=user, alert_id=alert.pk)


class AlertResolveApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(
            max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="", help_text="Resolution note."
        )

        class Meta:
            ref_name = "AlertResolve"

    @extend_schema(
        operation_id="alerts_resolve",
        tags=[ALERTS_TAG],
        summary="Resolve an open alert",
        request=InputSerializer,
        responses={200: AlertItemSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = request_user(request)
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=caps.ALERTS_MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert_resolve(alert_id=alert.pk, by=user, note=serializer.validated_data["note"])
        return alert_item_response(user=user, alert_id=alert.pk)


class AlertReopenApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=NOTE_MAX_LENGTH, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "AlertReopen"

    @extend_schema(
        operation_id="alerts_reopen",
        tags=[ALERTS_TAG],
        summary="Reopen a resolved alert (team owners/admins and platform admins)",
        description="Refused with 409 while a newer open alert tracks the same problem (same dedup key).",
        request=InputSerializer,
        responses={200: AlertItemSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = request_user(request)
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=caps.ALERTS_REOPEN)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert_reopen(alert_id=alert.pk, by=user, note=serializer.validated_data["note"])
        return alert_item_response(user=user, alert_id=alert.pk)


class AlertAssignApi(APIView):
    class InputSerializer(serializers.Serializer):
        assignee_id = serializers.IntegerField(
            min_value=1, max_value=MAX_ID, allow_null=True, help_text="A staff member of the team; null unassigns."
        )

        class Meta:
            ref_name = "AlertAssign"

    @extend_schema(
        operation_id="alerts_assign",
        tags=[ALERTS_TAG],
        summary="Assign the alert to a staff member of its team, or unassign it",
        request=InputSerializer,
        responses={200: AlertItemSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = request_user(request)
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=caps.ALERTS_MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assignee_id = serializer.validated_data["assignee_id"]
        assignee = (
            None if assignee_id is None else assignee_get_for_team(team_id=alert.team_id, assignee_id=assignee_id)
        )
        alert_assign(alert_id=alert.pk, by=user, assignee=assignee)
        return alert_item_response(user=user, alert_id=alert.pk)


class AlertNoteAddApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=NOTE_MAX_LENGTH)

        class Meta:
            ref_name = "AlertNote"

    @extend_schema(
        operation_id="alerts_notes_create",
        tags=[ALERTS_TAG],
        summary="Add a note to the alert's timeline",
        request=InputSerializer,
        responses={201: AlertEventSerializer, **error_responses(400, 403, 404)},
    )
    def post(self, request: Request, alert_id: int) -> Response:
        user = request_user(request)
        alert = alert_get_for_user(user=user, alert_id=alert_id, capability=caps.ALERTS_MANAGE)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event = alert_note_add(alert_id=alert.pk, by=user, note=serializer.validated_data["note"])
        return Response(AlertEventSerializer(event).data, status=201)
