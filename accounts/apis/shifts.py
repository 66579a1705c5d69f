"""On-call shifts of a team and who is on call now.

Times are read and written in the team's time zone: a time without offset is taken as local
to the team, and every time is returned with its offset.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts import selectors, services
from accounts.apis.common import StrictInputSerializer, UserSummarySerializer, page_of, paginated, team_timezone
from accounts.models import ShiftAssignment, User
from alertguardian.api import InvalidInput

ERRORS = {
    400: OpenApiResponse(description='Invalid input: `{"code", "message", "details"}`.'),
    403: OpenApiResponse(description="A reader of the team who is not a team manager."),
    404: OpenApiResponse(description="No such team or shift (or not yours)."),
}


def _agent(agent_id: int) -> User:
    agent = User.objects.filter(pk=agent_id).first()
    if agent is None:
        raise InvalidInput("The shift is invalid.", details={"agent_id": ["No such user."]}, code="invalid_shift")
    return agent


class ShiftDetailApi(APIView):
    """One shift of the team (readers)."""

    class OutputSerializer(serializers.ModelSerializer):
        agent = UserSummarySerializer()

        class Meta:
            model = ShiftAssignment
            fields = ["id", "team_id", "agent", "starts_at", "ends_at", "priority", "created_at"]
            ref_name = "Shift"

    @extend_schema(tags=["on-call"], responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request, team_id: int, shift_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id)  # type: ignore[arg-type]
        shift = selectors.shift_get(team=team, shift_id=shift_id)
        with team_timezone(team):
            return Response(ShiftDetailApi.OutputSerializer(shift).data)


class ShiftListApi(APIView):
    """Shifts overlapping `[from, to)` (both optional), by start (readers)."""

    class _FilterBase(serializers.Serializer):
        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "start" in attrs and "end" in attrs and attrs["end"] <= attrs["start"]:
                raise serializers.ValidationError({"to": ["Must be after from."]})
            return attrs

    # `from` and `to` are Python keywords, so this serializer is built from a dict.
    FilterSerializer = type(
        "FilterSerializer",
        (_FilterBase,),
        {
            "from": serializers.DateTimeField(required=False, source="start", help_text="Shifts ending after this."),
            "to": serializers.DateTimeField(required=False, source="end", help_text="Shifts starting before this."),
            "agent": serializers.IntegerField(required=False, source="agent_id", help_text="One agent's shifts."),
            "Meta": type("Meta", (), {"ref_name": "ShiftFilter"}),
            "__module__": __name__,
        },
    )

    @extend_schema(
        operation_id="teams_shifts_list",
        tags=["on-call"],
        parameters=[FilterSerializer],
        responses={200: page_of(ShiftDetailApi.OutputSerializer, "ShiftPage"), **ERRORS},
    )
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id)  # type: ignore[arg-type]
        with team_timezone(team):
            filters = ShiftListApi.FilterSerializer(data=request.query_params)
            filters.is_valid(raise_exception=True)
            shifts = selectors.shift_list(team=team, **filters.validated_data)
            return paginated(request, self, shifts, ShiftDetailApi.OutputSerializer, ordering=("starts_at", "id"))


class ShiftCreateApi(APIView):
    """Put a team member on call (team managers). The agent must be an active staff member of the
    team whose role can work alerts; the shift must end after it starts. Lower priority is
    notified first."""

    class InputSerializer(StrictInputSerializer):
        agent_id = serializers.IntegerField()
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        priority = serializers.IntegerField(min_value=1, max_value=100, default=1)

        class Meta:
            ref_name = "ShiftCreateInput"

    @extend_schema(
        tags=["on-call"], request=InputSerializer, responses={201: ShiftDetailApi.OutputSerializer, **ERRORS}
    )
    def post(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        with team_timezone(team):
            serializer = ShiftCreateApi.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            shift = services.shift_create(team=team, agent=_agent(data.pop("agent_id")), by=request.user, **data)  # type: ignore[arg-type]
            return Response(ShiftDetailApi.OutputSerializer(shift).data, status=status.HTTP_201_CREATED)


class ShiftUpdateApi(APIView):
    """Move, reassign or re-prioritise a shift (team managers); the same rules as creating apply."""

    class InputSerializer(StrictInputSerializer):
        agent_id = serializers.IntegerField(required=False)
        starts_at = serializers.DateTimeField(required=False)
        ends_at = serializers.DateTimeField(required=False)
        priority = serializers.IntegerField(min_value=1, max_value=100, required=False)

        class Meta:
            ref_name = "ShiftUpdateInput"

    @extend_schema(
        tags=["on-call"], request=InputSerializer, responses={200: ShiftDetailApi.OutputSerializer, **ERRORS}
    )
    def patch(self, request: Request, team_id: int, shift_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        shift = selectors.shift_get(team=team, shift_id=shift_id)
        with team_timezone(team):
            serializer = ShiftUpdateApi.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            changes: dict[str, Any] = dict(serializer.validated_data)
            if "agent_id" in changes:
                changes["agent"] = _agent(changes.pop("agent_id"))
            shift = services.shift_update(shift=shift, by=request.user, **changes)  # type: ignore[arg-type]
            return Response(ShiftDetailApi.OutputSerializer(shift).data)


class ShiftDeleteApi(APIView):
    """Delete a shift (team managers)."""

    @extend_schema(tags=["on-call"], responses={204: None, **ERRORS})
    def delete(self, request: Request, team_id: int, shift_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        shift = selectors.shift_get(team=team, shift_id=shift_id)
        services.shift_delete(shift=shift, by=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class OnCallApi(APIView):
    """Who is on call now (or at `at`), in the order escalation notifies them, each with the
    shift windows that cover the moment (readers)."""

    class FilterSerializer(serializers.Serializer):
        at = serializers.DateTimeField(required=False)

        class Meta:
            ref_name = "OnCallFilter"

    class OutputSerializer(serializers.Serializer):
        class EntrySerializer(serializers.Serializer):
            class WindowSerializer(serializers.Serializer):
                id = serializers.IntegerField()
                starts_at = serializers.DateTimeField()
                ends_at = serializers.DateTimeField()
                priority = serializers.IntegerField()

                class Meta:
                    ref_name = "OnCallShift"

            agent = UserSummarySerializer()
            shifts = WindowSerializer(many=True)

            class Meta:
                ref_name = "OnCallEntry"

        team_id = serializers.IntegerField()
        timezone = serializers.CharField()
        at = serializers.DateTimeField()
        on_call = EntrySerializer(many=True)

        class Meta:
            ref_name = "OnCall"

    @extend_schema(tags=["on-call"], parameters=[FilterSerializer], responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id)  # type: ignore[arg-type]
        with team_timezone(team):
            filters = OnCallApi.FilterSerializer(data=request.query_params)
            filters.is_valid(raise_exception=True)
            at = filters.validated_data.get("at") or timezone.now()
            entries = selectors.on_call_now(team_id=team.pk, at=at)
            payload = {"team_id": team.pk, "timezone": team.timezone, "at": at, "on_call": entries}
            return Response(OnCallApi.OutputSerializer(payload).data)
