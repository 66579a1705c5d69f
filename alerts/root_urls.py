"""Endpoints whose paths outside tools fix: PagerDuty's Events API v2."""

from __future__ import annotations

from django.urls import path

from alerts import ingest_apis

urlpatterns = [
    path("v2/enqueue", ingest_apis.PagerDutyEnqueueApi.as_view(), name="pagerduty-enqueue"),
]
