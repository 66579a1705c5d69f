"""Integrations, ingestion, flight status and detection rules, under /api/v1/."""

from __future__ import annotations

from django.urls import path

from alerts import ingest_apis, integration_apis

urlpatterns = [
    path("integrations", integration_apis.IntegrationListCreateApi.as_view(), name="integration-list"),
    path(
        "integrations/<int:integration_id>", integration_apis.IntegrationDetailApi.as_view(), name="integration-detail"
    ),
    path(
        "integrations/<int:integration_id>/rotate",
        integration_apis.IntegrationRotateApi.as_view(),
        name="integration-rotate",
    ),
    path(
        "integrations/<int:integration_id>/revoke",
        integration_apis.IntegrationRevokeApi.as_view(),
        name="integration-revoke",
    ),
    # Before the <token> routes: "pagerduty" is not a token.
    path(
        "integrations/pagerduty/v2/enqueue",
        ingest_apis.PagerDutyEnqueueApi.as_view(),
        name="integration-pagerduty-enqueue",
    ),
    path(
        "integrations/<str:token>/flight-events",
        ingest_apis.FlightEventsIngestApi.as_view(),
        name="integration-flight-events",
    ),
    path(
        "integrations/<str:token>/alertmanager",
        ingest_apis.AlertmanagerWebhookApi.as_view(),
        name="integration-alertmanager",
    ),
    path("integrations/<str:token>/events", ingest_apis.GenericEventsIngestApi.as_view(), name="integration-events"),
    path("flights", integration_apis.FlightListApi.as_view(), name="flight-list"),
    path("flights/<str:flight_number>", integration_apis.FlightDetailApi.as_view(), name="flight-detail"),
    path("detection-rules", integration_apis.DetectionRuleListCreateApi.as_view(), name="detection-rule-list"),
    path(
        "detection-rules/<int:rule_id>",
        integration_apis.DetectionRuleDetailApi.as_view(),
        name="detection-rule-detail",
    ),
]
