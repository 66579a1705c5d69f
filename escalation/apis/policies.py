"""Escalation policies API: team managers write, team members read.

Runs already in flight keep the snapshot of the policy they started with; edits apply to
runs that start afterwards. A webhook step's secret is shown once, in the response that
created it (``webhook_secrets``: step id → secret); reads only say whether one is set.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import user_has_capability
from alertguardian.api import DefaultCursorPagination, NotFound
from alerts.ops.selectors import team_for_ops
from alerts.selectors import alert_get_for_user
from escalation import selectors
from escalation.serializers import (
    PolicyInputSerializer,
    PolicyOutputSerializer,
    PolicyUpdateSerializer,
    RunOutputSerializer,
    StepAddSerializer,
    StepOutputSerializer,
    StepPatchSerializer,
    StepsOrderSerializer,
)
from escalation.services import policies as services

SNAPSHOT_NOTE = (
    "Runs already in flight keep the snapshot of the policy they started with; "
    "edits apply to runs that start afterwards."
)


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def _valid(serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _policy_response(policy: Any, secrets: dict[int, str], code: int = status.HTTP_200_OK) -> Response:
    fresh = selectors.policy_with_steps(policy_id=policy.pk)
    body: dict[str, Any] = dict(PolicyOutputSerializer(fresh).data)
    if secrets:
        body = {**body, "webhook_secrets": {str(step_id): secret for step_id, secret in secrets.items()}}
    return Response(body, status=code)


class PolicyListCreateApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("team", int, required=False)],
        responses=PolicyOutputSerializer(many=True),
        description=SNAPSHOT_NOTE,
    )
    def get(self, request: Request) -> Response:
        team = request.query_params.get("team")
        team_id = int(team) if team and team.isdigit() else None
        if team is not None and team_id is None:
            raise serializers.ValidationError({"team": ["A team id."]})
        policies = selectors.policies_for_user(user=_user(request), team_id=team_id)
        paginator = DefaultCursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(policies, request, view=self)
        return paginator.get_paginated_response(PolicyOutputSerializer(page, many=True).data)

    @extend_schema(request=PolicyInputSerializer, responses={201: PolicyOutputSerializer}, description=SNAPSHOT_NOTE)
    def post(self, request: Request) -> Response:
        data = _valid(PolicyInputSerializer, request)
        team = team_for_ops(user=_user(request), team_id=data.pop("team"), manage=True)
        policy, secrets = services.policy_create(team=team, by=_user(request), data=data)
        return _policy_response(policy, secrets, status.HTTP_201_CREATED)


class PolicyDetailApi(APIView):
    @extend_schema(responses=PolicyOutputSerializer, description=SNAPSHOT_NOTE)
    def get(self, request: Request, policy_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id)
        return Response(PolicyOutputSerializer(policy).data)

    @extend_schema(request=PolicyUpdateSerializer, responses=PolicyOutputSerializer, description=SNAPSHOT_NOTE)
    def patch(self, request: Request, policy_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        data = _valid(PolicyUpdateSerializer, request, partial=True)
        policy, secrets = services.policy_update(policy=policy, by=_user(request), data=data)
        return _policy_response(policy, secrets)

    @extend_schema(request=PolicyUpdateSerializer, responses=PolicyOutputSerializer, description=SNAPSHOT_NOTE)
    def put(self, request: Request, policy_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        data = _valid(PolicyUpdateSerializer, request)
        if "name" not in data or "steps" not in data:
            raise serializers.ValidationError(
                {name: ["This field is required."] for name in ("name", "steps") if name not in data}
            )
        policy, secrets = services.policy_update(policy=policy, by=_user(request), data=data)
        return _policy_response(policy, secrets)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, policy_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        services.policy_delete(policy=policy, by=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StepAddApi(APIView):
    @extend_schema(request=StepAddSerializer, responses={201: PolicyOutputSerializer}, description=SNAPSHOT_NOTE)
    def post(self, request: Request, policy_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        data = _valid(StepAddSerializer, request)
        position = data.pop("position", None)
        _, secrets = services.step_add(policy=policy, by=_user(request), data=data, position=position)
        return _policy_response(policy, secrets, status.HTTP_201_CREATED)


class StepDetailApi(APIView):
    @extend_schema(request=StepPatchSerializer, responses=StepOutputSerializer, description=SNAPSHOT_NOTE)
    def patch(self, request: Request, policy_id: int, step_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        step = selectors.step_get(policy=policy, step_id=step_id)
        data = _valid(StepPatchSerializer, request, partial=True)
        step, secrets = services.step_update(step=step, by=_user(request), data=data)
        body: dict[str, Any] = dict(StepOutputSerializer(step).data)
        if step.pk in secrets:
            body = {**body, "webhook_secret": secrets[step.pk]}
        return Response(body)

    @extend_schema(responses={204: None}, description=SNAPSHOT_NOTE)
    def delete(self, request: Request, policy_id: int, step_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        services.step_delete(step=selectors.step_get(policy=policy, step_id=step_id), by=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StepsOrderApi(APIView):
    @extend_schema(request=StepsOrderSerializer, responses=PolicyOutputSerializer, description=SNAPSHOT_NOTE)
    def put(self, request: Request, policy_id: int) -> Response:
        policy = selectors.policy_get_for_user(user=_user(request), policy_id=policy_id, manage=True)
        data = _valid(StepsOrderSerializer, request)
        services.steps_reorder(policy=policy, by=_user(request), step_ids=data["step_ids"])
        return _policy_response(policy, {})


class RunListApi(APIView):
    @extend_schema(parameters=[OpenApiParameter("alert", int, required=True)], responses=RunOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        alert = request.query_params.get("alert", "")
        if not alert.isdigit():
            raise serializers.ValidationError({"alert": ["An alert id is required."]})
        found = alert_get_for_user(user=_user(request), alert_id=int(alert))
        if not user_has_capability(user=_user(request), capability=caps.ALERTS_READ, team_id=found.team_id):
            raise NotFound("Alert not found.")  # a customer may see the alert, not its escalation
        runs = selectors.runs_for_alert(alert_id=int(alert))[:50]
        return Response(RunOutputSerializer(runs, many=True).data)
