"""Operations API: custom alert rules, SLA policies, team ops settings and summaries.

Reads need ``alerts.read`` on the team, writes ``team.manage`` (owners and admins).
Another team's objects are 404; a member without ``team.manage`` gets 403 on writes.
A rule whose definition breaks the schema is a 400 naming each bad field, e.g.
``{"code": "invalid_rule", "details": {"definition.conditions[0].op": ["unknown operator ..."]}}``.
Editing a rule or a policy applies to the next evaluation; alerts already raised stay.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from alertguardian.api import DefaultCursorPagination, InvalidInput
from alerts.models import Severity
from alerts.ops import selectors, services
from alerts.ops.models import AlertRuleKind
from alerts.ops.schemas import RULE_SCHEMAS
from alerts.ops.serializers import (
    AlertRuleOutputSerializer,
    DailySummaryOutputSerializer,
    SlaPolicyOutputSerializer,
    TeamOpsSettingsOutputSerializer,
)


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


def _paginated(view: APIView, request: Request, queryset: Any, serializer: type[serializers.Serializer]) -> Response:
    paginator = DefaultCursorPagination()
    page: list[Any] | None = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class AlertRuleListCreateApi(APIView):
    @extend_schema_serializer(component_name="AlertRuleFilter")
    class FilterSerializer(serializers.Serializer):
        team = serializers.IntegerField(required=False)
        kind = serializers.ChoiceField(choices=AlertRuleKind.choices, required=False)
        enabled = serializers.BooleanField(required=False, allow_null=True, default=None)

    @extend_schema_serializer(component_name="AlertRuleCreateInput")
    class InputSerializer(serializers.Serializer):
        team = serializers.IntegerField()
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        kind = serializers.ChoiceField(choices=AlertRuleKind.choices)
        enabled = serializers.BooleanField(required=False, default=True)
        definition = serializers.JSONField(help_text="See GET /api/v1/alert-rules/schema")

    @extend_schema(parameters=[FilterSerializer], responses=AlertRuleOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        rules = selectors.alert_rules_for_user(
            user=_user(request), team_id=data.get("team"), kind=data.get("kind"), enabled=data.get("enabled")
        )
        return _paginated(self, request, rules, AlertRuleOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: AlertRuleOutputSerializer})
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        team = selectors.team_for_ops(user=_user(request), team_id=data.pop("team"), manage=True)
        rule = services.alert_rule_create(team=team, by=_user(request), **data)
        return Response(AlertRuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class AlertRuleSchemaApi(APIView):
    """The JSON schema of rule definitions, per kind (documented in ``alerts.ops.schemas``)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(RULE_SCHEMAS)


class AlertRuleDetailApi(APIView):
    @extend_schema_serializer(component_name="AlertRuleUpdateInput")
    class UpdateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        enabled = serializers.BooleanField(required=False)
        definition = serializers.JSONField(required=False)
        kind = serializers.ChoiceField(choices=AlertRuleKind.choices, required=False)

    @extend_schema(responses=AlertRuleOutputSerializer)
    def get(self, request: Request, rule_id: int) -> Response:
        rule = selectors.alert_rule_get_for_user(user=_user(request), rule_id=rule_id)
        return Response(AlertRuleOutputSerializer(rule).data)

    @extend_schema(request=UpdateSerializer, responses=AlertRuleOutputSerializer)
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = selectors.alert_rule_get_for_user(user=_user(request), rule_id=rule_id, manage=True)
        payload = self.UpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        if changes.pop("kind", rule.kind) != rule.kind:
            raise InvalidInput(details={"kind": ["cannot be changed; create a new rule"]}, code="invalid_rule")
        rule = services.alert_rule_update(rule_id=rule.pk, by=_user(request), **changes)
        return Response(AlertRuleOutputSerializer(rule).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, rule_id: int) -> Response:
        rule = selectors.alert_rule_get_for_user(user=_user(request), rule_id=rule_id, manage=True)
        services.alert_rule_delete(rule_id=rule.pk, by=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="SlaPolicyUpdateInput")
class _SlaPolicyFields(serializers.Serializer):
    ack_within_minutes = serializers.IntegerField(min_value=1, max_value=525_600, required=False, allow_null=True)
    resolve_within_minutes = serializers.IntegerField(min_value=1, max_value=525_600, required=False, allow_null=True)
    at_risk_buffer_minutes = serializers.IntegerField(min_value=0, max_value=525_600, required=False)
    enabled = serializers.BooleanField(required=False)


class SlaPolicyListCreateApi(APIView):
    @extend_schema_serializer(component_name="SlaPolicyCreateInput")
    class InputSerializer(_SlaPolicyFields):
        severity = serializers.ChoiceField(choices=Severity.choices)

    @extend_schema(responses=SlaPolicyOutputSerializer(many=True))
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id)
        return _paginated(self, request, selectors.sla_policies_for_team(team=team), SlaPolicyOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: SlaPolicyOutputSerializer})
    def post(self, request: Request, team_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id, manage=True)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        policy = services.sla_policy_create(team=team, by=_user(request), **payload.validated_data)
        return Response(SlaPolicyOutputSerializer(policy).data, status=status.HTTP_201_CREATED)


class SlaPolicyDetailApi(APIView):
    @extend_schema(responses=SlaPolicyOutputSerializer)
    def get(self, request: Request, team_id: int, policy_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id)
        return Response(SlaPolicyOutputSerializer(selectors.sla_policy_get(team=team, policy_id=policy_id)).data)

    @extend_schema(request=_SlaPolicyFields, responses=SlaPolicyOutputSerializer)
    def patch(self, request: Request, team_id: int, policy_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id, manage=True)
        policy = selectors.sla_policy_get(team=team, policy_id=policy_id)
        payload = _SlaPolicyFields(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        policy = services.sla_policy_update(policy_id=policy.pk, by=_user(request), **payload.validated_data)
        return Response(SlaPolicyOutputSerializer(policy).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, team_id: int, policy_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id, manage=True)
        policy = selectors.sla_policy_get(team=team, policy_id=policy_id)
        services.sla_policy_delete(policy_id=policy.pk, by=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TeamOpsSettingsApi(APIView):
    @extend_schema_serializer(component_name="TeamOpsSettingsInput")
    class InputSerializer(serializers.Serializer):
        summary_enabled = serializers.BooleanField(required=False)
        summary_time = serializers.TimeField(required=False, help_text="Local time in the team's time zone")
        summary_subscribers = serializers.ListField(
            child=serializers.IntegerField(), required=False, max_length=500, help_text="User ids (team staff)"
        )
        workload_threshold = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
        unassigned_minutes = serializers.IntegerField(min_value=1, max_value=525_600, required=False)
        retention_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
        # A plain string (validated below) so the schema keeps one SeverityEnum.
        payment_failed_severity = serializers.CharField(required=False, help_text="low, medium, high or critical")

        def validate_payment_failed_severity(self, value: str) -> str:
            if value not in Severity.values:
                raise serializers.ValidationError(f"must be one of: {', '.join(Severity.values)}")
            return value

    @extend_schema(responses=TeamOpsSettingsOutputSerializer)
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id)
        return Response(TeamOpsSettingsOutputSerializer(selectors.ops_settings_for_team(team)).data)

    @extend_schema(request=InputSerializer, responses=TeamOpsSettingsOutputSerializer)
    def patch(self, request: Request, team_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id, manage=True)
        payload = self.InputSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        subscribers = data.pop("summary_subscribers", None)
        row = services.team_ops_settings_update(
            team=team, by=_user(request), summary_subscriber_ids=subscribers, **data
        )
        return Response(TeamOpsSettingsOutputSerializer(row).data)


class SummaryListApi(APIView):
    """A team's summaries, newest first. Each ``data`` follows ``alerts.ops.summaries`` (version 1)."""

    @extend_schema_serializer(component_name="SummaryFilter")
    class FilterSerializer(serializers.Serializer):
        date_from = serializers.DateField(required=False)
        date_to = serializers.DateField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=DailySummaryOutputSerializer(many=True))
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        summaries = selectors.summaries_for_team(team=team, **filters.validated_data)
        return _paginated(self, request, summaries, DailySummaryOutputSerializer)


class SummaryDetailApi(APIView):
    @extend_schema(responses=DailySummaryOutputSerializer)
    def get(self, request: Request, team_id: int, summary_id: int) -> Response:
        team = selectors.team_for_ops(user=_user(request), team_id=team_id)
        return Response(DailySummaryOutputSerializer(selectors.summary_get(team=team, summary_id=summary_id)).data)
