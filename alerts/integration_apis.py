"""Management APIs of the ingestion side: integrations (team managers), detection rules
(team managers and platform admins) and flight status (staff). Thin views: validate, call
one selector or service, serialize."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import team_get_for_user
from alertguardian.api import DefaultCursorPagination, Forbidden, InvalidInput
from alerts.flight_payloads import FLIGHT_PUBLIC_FIELDS, flight_public
from alerts.ingest_selectors import (
    detection_rule_get_for_editor,
    detection_rule_get_for_user,
    detection_rules_visible_to,
    flight_legs_get,
    flights_visible_to,
    integration_get_for_manager,
    integrations_manageable_by,
)
from alerts.models import DetectionCondition, FlightLegStatus, Integration, IntegrationKind, Severity
from alerts.services.detection_rules import (
    detection_rule_create,
    detection_rule_delete,
    detection_rule_update,
)
from alerts.services.flights import LATE_FROM_MINUTES
from alerts.services.integrations import (
    IssuedToken,
    integration_create,
    integration_revoke,
    integration_rotate,
    integration_update,
)

INGEST_PATHS = {
    IntegrationKind.FLIGHT_EVENTS: "/api/v1/integrations/{token}/flight-events",
    IntegrationKind.ALERTMANAGER: "/api/v1/integrations/{token}/alertmanager",
    IntegrationKind.GENERIC: "/api/v1/integrations/{token}/events",
    IntegrationKind.PAGERDUTY: "/v2/enqueue",
}


def _user(request: Request) -> User:
    return request.user  # type: ignore[return-value]


class IntegrationOutput(serializers.ModelSerializer):
    endpoint = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "team",
            "kind",
            "name",
            "is_active",
            "token_hint",
            "created_by",
            "created_at",
            "rotated_at",
            "revoked_at",
            "last_event_at",
            "endpoint",
        ]

    def get_endpoint(self, integration: Integration) -> str:
        """Where to send events; ``{token}`` stands for the token (PagerDuty: ``routing_key``)."""
        return settings.PUBLIC_BASE_URL.rstrip("/") + INGEST_PATHS[IntegrationKind(integration.kind)]


def _issued(issued: IssuedToken, code: int) -> Response:
    body = IntegrationOutput(issued.integration).data
    body["token"] = issued.token  # shown this once; only its sha256 is stored
    return Response(body, status=code)


class IntegrationListCreateApi(APIView):
    @extend_schema_serializer(component_name="IntegrationCreateInput")
    class InputSerializer(serializers.Serializer):
        team = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=IntegrationKind.choices)
        name = serializers.CharField(max_length=120)

    @extend_schema_serializer(component_name="IntegrationListFilter")
    class FilterSerializer(serializers.Serializer):
        team = serializers.IntegerField(required=False)
        kind = serializers.ChoiceField(choices=IntegrationKind.choices, required=False)

    @extend_schema(
        operation_id="integrations_list",
        parameters=[FilterSerializer],
        responses=IntegrationOutput(many=True),
        tags=["integrations"],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        integrations = integrations_manageable_by(user=_user(request))
        if "team" in filters.validated_data:
            integrations = integrations.filter(team_id=filters.validated_data["team"])
        if "kind" in filters.validated_data:
            integrations = integrations.filter(kind=filters.validated_data["kind"])
        paginator = DefaultCursorPagination()
        page = paginator.paginate_queryset(integrations, request, view=self)
        return paginator.get_paginated_response(IntegrationOutput(page, many=True).data)

    @extend_schema(
        operation_id="integrations_create",
        description="Team managers (team.manage). The response carries `token` once; store it now.",
        request=InputSerializer,
        responses={201: IntegrationOutput},
        tags=["integrations"],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user(request)
        team = team_get_for_user(user=user, team_id=data.validated_data["team"], capability=caps.TEAM_MANAGE)
        issued = integration_create(
            team=team, kind=data.validated_data["kind"], name=data.validated_data["name"], by=user
        )
        return _issued(issued, status.HTTP_201_CREATED)


class IntegrationDetailApi(APIView):
    @extend_schema_serializer(component_name="IntegrationUpdateInput")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        is_active = serializers.BooleanField(required=False)

    @extend_schema(operation_id="integrations_retrieve", responses=IntegrationOutput, tags=["integrations"])
    def get(self, request: Request, integration_id: int) -> Response:
        integration = integration_get_for_manager(user=_user(request), integration_id=integration_id)
        return Response(IntegrationOutput(integration).data)

    @extend_schema(
        operation_id="integrations_update",
        description="Rename, or pause (`is_active: false`, its token answers 401) and resume. A revoked integration cannot be resumed (409).",
        request=InputSerializer,
        responses=IntegrationOutput,
        tags=["integrations"],
    )
    def patch(self, request: Request, integration_id: int) -> Response:
        user = _user(request)
        integration = integration_get_for_manager(user=user, integration_id=integration_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        integration = integration_update(integration_id=integration.pk, by=user, **data.validated_data)
        return Response(IntegrationOutput(integration).data)

    @extend_schema(
        operation_id="integrations_destroy",
        description="Revoke (same as POST …/revoke).",
        responses={204: None},
        tags=["integrations"],
    )
    def delete(self, request: Request, integration_id: int) -> Response:
        user = _user(request)
        integration = integration_get_for_manager(user=user, integration_id=integration_id)
        integration_revoke(integration_id=integration.pk, by=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IntegrationRotateApi(APIView):
    @extend_schema(
        operation_id="integrations_rotate",
        description="Issue a new token (in the response, once); the old token stops working at once.",
        request=None,
        responses=IntegrationOutput,
        tags=["integrations"],
    )
    def post(self, request: Request, integration_id: int) -> Response:
        user = _user(request)
        integration = integration_get_for_manager(user=user, integration_id=integration_id)
        return _issued(integration_rotate(integration_id=integration.pk, by=user), status.HTTP_200_OK)


class IntegrationRevokeApi(APIView):
    @extend_schema(
        operation_id="integrations_revoke",
        description=(
            "Disable for good: the token answers 401 from now on (in every server process within "
            "`CONFIG_CACHE_SECONDS`, 1 s by default)."
        ),
        request=None,
        responses=IntegrationOutput,
        tags=["integrations"],
    )
    def post(self, request: Request, integration_id: int) -> Response:
        user = _user(request)
        integration = integration_get_for_manager(user=user, integration_id=integration_id)
        return Response(IntegrationOutput(integration_revoke(integration_id=integration.pk, by=user)).data)


# --- Flight status -------------------------------------------------------------------------


class FlightOutput(serializers.Serializer):
    """Documentation of ``alerts.flight_payloads.flight_public`` (the same dict the live event carries)."""

    key = serializers.CharField()
    flight_number = serializers.CharField()
    status = serializers.ChoiceField(choices=FlightLegStatus.choices)
    delay_minutes = serializers.IntegerField(allow_null=True)


class FlightCursorPagination(DefaultCursorPagination):
    ordering = ("scheduled_departure", "id")  # type: ignore[assignment]


class FlightListApi(APIView):
    @extend_schema_serializer(component_name="FlightListFilter")
    class FilterSerializer(serializers.Serializer):
        date = serializers.DateField(required=False)
        origin = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
        status = serializers.ChoiceField(choices=FlightLegStatus.choices, required=False)
        delayed = serializers.BooleanField(required=False, allow_null=True, default=None)
        team = serializers.IntegerField(required=False)

    @extend_schema(
        operation_id="flights_list",
        description=(
            f"Flight legs of the caller's teams (staff only). `delayed=true`: departure delay ≥ "
            f"{LATE_FROM_MINUTES} min; `delayed=false`: less or unknown. Fields: {', '.join(FLIGHT_PUBLIC_FIELDS)}."
        ),
        parameters=[FilterSerializer],
        responses=FlightOutput(many=True),
        tags=["flights"],
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        legs = flights_visible_to(user=_user(request))
        if params.get("date"):
            legs = legs.filter(service_date=params["date"])
        if params.get("origin"):
            legs = legs.filter(origin=params["origin"].upper())
        if params.get("status"):
            legs = legs.filter(status=params["status"])
        if params.get("team"):
            legs = legs.filter(team_id=params["team"])
        if params.get("delayed") is True:
            legs = legs.filter(delay_minutes__gte=LATE_FROM_MINUTES)
        elif params.get("delayed") is False:
            legs = legs.exclude(delay_minutes__gte=LATE_FROM_MINUTES)
        paginator = FlightCursorPagination()
        page = paginator.paginate_queryset(legs, request, view=self) or []
        return paginator.get_paginated_response([flight_public(leg) for leg in page])


class FlightDetailApi(APIView):
    @extend_schema(
        operation_id="flights_retrieve",
        description="The legs of one flight number (newest service date first); `date` narrows to one day. 404 when none is visible.",
        parameters=[OpenApiParameter("date", date, required=False)],
        responses=FlightOutput(many=True),
        tags=["flights"],
    )
    def get(self, request: Request, flight_number: str) -> Response:
        raw_date = request.query_params.get("date")
        service_date = None
        if raw_date:
            try:
                service_date = date.fromisoformat(raw_date)
            except ValueError:
                raise InvalidInput("Bad date.", details={"date": ["Must be YYYY-MM-DD."]}) from None
        legs = flight_legs_get(user=_user(request), flight_number=flight_number, service_date=service_date)
        return Response({"flight_number": legs[0].flight_number, "legs": [flight_public(leg) for leg in legs]})


# --- Detection rules -----------------------------------------------------------------------


class DetectionRuleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    name = serializers.CharField()
    condition = serializers.CharField()
    threshold_minutes = serializers.IntegerField(allow_null=True)
    severity = serializers.CharField()
    creates_alert = serializers.BooleanField()
    escalate = serializers.BooleanField()
    notify_customers = serializers.BooleanField()
    suggestions = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    ordering = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class _RuleFields(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    condition = serializers.ChoiceField(choices=DetectionCondition.choices)
    threshold_minutes = serializers.IntegerField(min_value=0, max_value=100_000, allow_null=True, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices)
    creates_alert = serializers.BooleanField(required=False)
    escalate = serializers.BooleanField(required=False)
    notify_customers = serializers.BooleanField(required=False)
    suggestions = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)
    enabled = serializers.BooleanField(required=False)
    ordering = serializers.IntegerField(min_value=0, max_value=100_000, required=False)


class DetectionRuleListCreateApi(APIView):
    @extend_schema_serializer(component_name="DetectionRuleCreateInput")
    class InputSerializer(_RuleFields):
        team = serializers.IntegerField(
            allow_null=True, required=False, help_text="Empty: a global rule (platform admins)"
        )

    @extend_schema(
        operation_id="detection_rules_list",
        description=(
            "Global defaults and the rules of the teams you manage. A team that has an enabled rule "
            "of a condition replaces the global rules of that condition; among matching rules of "
            "one alert kind the highest severity wins."
        ),
        responses=DetectionRuleOutput(many=True),
        tags=["detection rules"],
    )
    def get(self, request: Request) -> Response:
        rules = detection_rules_visible_to(user=_user(request))
        team = request.query_params.get("team")
        if team:
            if not team.isdigit():
                raise InvalidInput("Bad team.", details={"team": ["Must be an integer."]})
            rules = rules.filter(team_id=int(team))
        return Response(DetectionRuleOutput(rules.order_by("team_id", "ordering", "id"), many=True).data)

    @extend_schema(
        operation_id="detection_rules_create",
        request=InputSerializer,
        responses={201: DetectionRuleOutput},
        tags=["detection rules"],
    )
    def post(self, request: Request) -> Response:
        user = _user(request)
        detection_rules_visible_to(user=user)  # 403 for users who manage no team
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(data.validated_data)
        team_id = fields.pop("team", None)
        if team_id is None and not user.is_platform_admin:
            raise Forbidden("Only platform admins create global rules; give your team's id.")
        team = team_get_for_user(user=user, team_id=team_id, capability=caps.TEAM_MANAGE) if team_id else None
        rule = detection_rule_create(team=team, by=user, **fields)
        return Response(DetectionRuleOutput(rule).data, status=status.HTTP_201_CREATED)


class DetectionRuleDetailApi(APIView):
    @extend_schema_serializer(component_name="DetectionRuleUpdateInput")
    class InputSerializer(_RuleFields):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partial=True, **kwargs)

    @extend_schema(operation_id="detection_rules_retrieve", responses=DetectionRuleOutput, tags=["detection rules"])
    def get(self, request: Request, rule_id: int) -> Response:
        rule = detection_rule_get_for_user(user=_user(request), rule_id=rule_id)
        return Response(DetectionRuleOutput(rule).data)

    @extend_schema(
        operation_id="detection_rules_update",
        request=InputSerializer,
        responses=DetectionRuleOutput,
        tags=["detection rules"],
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        user = _user(request)
        rule = detection_rule_get_for_editor(user=user, rule_id=rule_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = detection_rule_update(rule_id=rule.pk, by=user, **data.validated_data)
        return Response(DetectionRuleOutput(rule).data)

    @extend_schema(operation_id="detection_rules_destroy", responses={204: None}, tags=["detection rules"])
    def delete(self, request: Request, rule_id: int) -> Response:
        user = _user(request)
        rule = detection_rule_get_for_editor(user=user, rule_id=rule_id)
        detection_rule_delete(rule_id=rule.pk, by=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
