"""Ingestion endpoints, authenticated by the integration token (in the path, or PagerDuty's
``routing_key``): unknown token → 404, disabled integration → 401, both with the standard
error body. One thin view per format; the work is in ``alerts.services``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alertguardian.api import error_body
from alerts.flight_contract import MAX_EVENTS_PER_REQUEST, flight_event_json_schema, parse_flight_events
from alerts.ingest_selectors import integration_for_token
from alerts.models import IntegrationKind
from alerts.services.alertmanager import alertmanager_webhook_process, parse_alertmanager_payload
from alerts.services.flight_grouping import flight_events_ingest_grouped
from alerts.services.flights import flight_events_ingest
from alerts.services.generic import generic_events_ingest, parse_cloud_events
from alerts.services.integrations import integration_rate_limited
from alerts.services.pagerduty import PagerDutyEventInvalid, pagerduty_event_process, parse_pagerduty_event

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# Exceptions that mean "the database cannot take this now" (lock timeout, deadlock victim,
# SQLite busy, connection lost): the sender should retry, so 503 + Retry-After, never 500.
DATABASE_BUSY = (OperationalError, InterfaceError)


def _busy_response(reason: object, retry_after: int = RETRY_AFTER_SECONDS) -> Response:
    logger.warning("ingest pushed back with 503: %s", reason)
    return Response(
        error_body("unavailable", "The service is busy; retry later."),
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(retry_after)},
    )


class TokenIngestApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, DATABASE_BUSY):  # anywhere: token lookup, ingest, rate counter
            return _busy_response(exc)
        return super().handle_exception(exc)


class FlightEventsIngestApi(TokenIngestApi):
    @extend_schema(
        operation_id="flight_events_ingest",
        summary="Post flight events (one object or a list of up to 1,000)",
        description=(
            "Travel-domain flight events (see the field table). Delivery is at-least-once and "
            "out of order: an `event_id` this integration already sent is a duplicate and changes "
            "nothing; an event not newer (`occurred_at`) than the leg's newest applied event is "
            "stored but changes nothing.\n\n"
            f"**A list is all-or-nothing.** If any item is invalid the whole request is refused with "
            f"400 and nothing is stored; `details.items` names each bad item's `index` and its bad "
            f"fields. A valid list is applied in one transaction. More than {MAX_EVENTS_PER_REQUEST} "
            "events → 400 `too_many_events`; a body over 1 MiB → 413. Unknown fields are ignored. "
            "Unknown token → 404, disabled integration → 401. When the database is busy: 503 with "
            "`Retry-After` (nothing was applied; retry).\n\n"
            "Requests of one integration that arrive together may be written in one transaction "
            "(group commit); each still gets its own counts and audit entry, and two requests that "
            "touch the same flight leg are never written together."
        ),
        request={
            "application/json": {
                "oneOf": [
                    flight_event_json_schema(),
                    {"type": "array", "maxItems": 1000, "items": flight_event_json_schema()},
                ]
            }
        },
        responses={
            200: OpenApiResponse(
                description="Counts: received, accepted, duplicates, late, legs_updated, alerts_raised, alerts_updated, alerts_resolved, outcomes_recorded"
            )
        },
        examples=[
            OpenApiExample(
                "cancelled",
                request_only=True,
                value={
                    "event_id": "ua1545-cx-1",
                    "event_type": "cancelled",
                    "occurred_at": "2013-02-08T03:15:00-05:00",
                    "flight_number": "UA1545",
                    "origin": "EWR",
                    "destination": "IAH",
                    "scheduled_departure": "2013-02-08T05:15:00-05:00",
                },
            )
        ],
        tags=["ingestion"],
    )
    def post(self, request: Request, token: str) -> Response:
        integration = integration_for_token(token=token, kind=IntegrationKind.FLIGHT_EVENTS)
        events, _ = parse_flight_events(request.data)
        if settings.FLIGHT_EVENTS_GROUP_COMMIT:
            result = flight_events_ingest_grouped(integration=integration, events=events)
        else:
            result = flight_events_ingest(integration=integration, events=events)
        return Response(result.as_dict(), status=status.HTTP_200_OK)


def _pd_invalid(errors: list[str]) -> Response:
    return Response(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


class PagerDutyEnqueueApi(TokenIngestApi):
    @extend_schema(
        summary="PagerDuty Events API v2",
        description=(
            "`routing_key` is the token of a `pagerduty` integration. 202 "
            '`{"status":"success","message":"Event processed","dedup_key":...}`; 400 '
            '`{"status":"invalid event","message":"Event object is invalid","errors":[...]}`; '
            "429 with `Retry-After` when the integration sends too fast; bodies over 512 KB → 413. "
            "A trigger with the `dedup_key` of an open alert of this integration folds into it; "
            "acknowledge/resolve of an unknown or resolved key is dropped but answered 202."
        ),
        request={"application/json": {"type": "object"}},
        responses={
            202: OpenApiResponse(description="Event processed"),
            400: OpenApiResponse(description="Invalid event"),
        },
        tags=["ingestion"],
    )
    def post(self, request: Request) -> Response:
        try:
            data = request.data
        except ParseError:
            return _pd_invalid(["Request body is not valid JSON"])
        try:
            event = parse_pagerduty_event(data)
        except PagerDutyEventInvalid as exc:
            return _pd_invalid(exc.errors)
        integration = integration_for_token(token=event.routing_key, kind=IntegrationKind.PAGERDUTY)
        wait = integration_rate_limited(integration=integration)
        if wait is not None:
            return Response(
                {"status": "throttle event", "message": "Requests for this integration are arriving too quickly."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        outcome = pagerduty_event_process(integration=integration, event=event)
        return Response(
            {"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key},
            status=status.HTTP_202_ACCEPTED,
        )


class AlertmanagerWebhookApi(TokenIngestApi):
    @extend_schema(
        operation_id="alertmanager_webhook",
        summary="Prometheus Alertmanager webhook (version 4)",
        description=(
            "State is applied per listed alert from its own `status`; alerts are deduplicated on "
            "(integration, fingerprint) while open; absent alerts are never resolved (see "
            "`truncatedAlerts`); a firing alert's `endsAt` is ignored. Push-back is 503 with "
            "`Retry-After` (too many requests for this integration, or the database is busy), "
            "never 429: Alertmanager retries 5xx with backoff."
        ),
        request={"application/json": {"type": "object"}},
        responses={200: OpenApiResponse(description="Counts: raised, updated, unchanged, resolved, ignored")},
        tags=["ingestion"],
    )
    def post(self, request: Request, token: str) -> Response:
        integration = integration_for_token(token=token, kind=IntegrationKind.ALERTMANAGER)
        wait = integration_rate_limited(integration=integration)
        if wait is not None:
            return _busy_response("the integration's overload guard tripped", retry_after=wait)
        group = parse_alertmanager_payload(request.data)
        result = alertmanager_webhook_process(integration=integration, group=group)
        return Response({"status": "success", **result.as_dict()}, status=status.HTTP_200_OK)


class CloudEventsParser(JSONParser):
    media_type = "application/cloudevents+json"


class CloudEventsBatchParser(JSONParser):
    media_type = "application/cloudevents-batch+json"


class GenericEventsIngestApi(TokenIngestApi):
    parser_classes = (JSONParser, CloudEventsParser, CloudEventsBatchParser)

    @extend_schema(
        operation_id="generic_events_ingest",
        summary="CloudEvents 1.0 (structured JSON, or a batch)",
        description=(
            "`specversion` 1.0, `id`, `source`, `type` required; `source` + `id` is idempotent. "
            "Types `alertguardian.alert.trigger|acknowledge|resolve` act on the alert whose dedup "
            "key is `subject` (`data` shaped like a PagerDuty payload); any other type is stored "
            "and raises an alert from `data` (`summary`, `severity`). A batch is all-or-nothing."
        ),
        request={
            "application/cloudevents+json": {"type": "object"},
            "application/cloudevents-batch+json": {"type": "array"},
        },
        responses={202: OpenApiResponse(description="accepted, duplicates, events[]")},
        tags=["ingestion"],
    )
    def post(self, request: Request, token: str) -> Response:
        integration = integration_for_token(token=token, kind=IntegrationKind.GENERIC)
        wait = integration_rate_limited(integration=integration)
        if wait is not None:
            return Response(
                error_body("throttled", "Too many requests for this integration.", {"retry_after": wait}),
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        events = parse_cloud_events(request.data)
        result = generic_events_ingest(integration=integration, events=events)
        body: dict[str, Any] = {"accepted": result.accepted, "duplicates": result.duplicates, "events": result.events}
        return Response(body, status=status.HTTP_202_ACCEPTED)
