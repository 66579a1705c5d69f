"""The alert lifecycle API, included under /api/v1/ by ``alertguardian.urls``."""

from __future__ import annotations

from django.urls import path

from alerts.apis.collection import AlertBroadcastApi, AlertCollectionApi, AlertUnreadCountApi
from alerts.apis.detail import AlertDetailApi
from alerts.apis.lifecycle import (
    AlertAcknowledgeApi,
    AlertAssignApi,
    AlertNoteAddApi,
    AlertReopenApi,
    AlertResolveApi,
    AlertUnacknowledgeApi,
)
from alerts.apis.user_state import AlertDismissApi, AlertReadApi, AlertUndismissApi, AlertUnreadApi

urlpatterns = [
    path("alerts", AlertCollectionApi.as_view(), name="alerts"),
    path("alerts/unread-count", AlertUnreadCountApi.as_view(), name="alerts-unread-count"),
    path("alerts/broadcast", AlertBroadcastApi.as_view(), name="alerts-broadcast"),
    path("alerts/<int:alert_id>", AlertDetailApi.as_view(), name="alert-detail"),
    path("alerts/<int:alert_id>/acknowledge", AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
    path("alerts/<int:alert_id>/unacknowledge", AlertUnacknowledgeApi.as_view(), name="alert-unacknowledge"),
    path("alerts/<int:alert_id>/resolve", AlertResolveApi.as_view(), name="alert-resolve"),
    path("alerts/<int:alert_id>/reopen", AlertReopenApi.as_view(), name="alert-reopen"),
    path("alerts/<int:alert_id>/assign", AlertAssignApi.as_view(), name="alert-assign"),
    path("alerts/<int:alert_id>/notes", AlertNoteAddApi.as_view(), name="alert-notes"),
    path("alerts/<int:alert_id>/read", AlertReadApi.as_view(), name="alert-read"),
    path("alerts/<int:alert_id>/unread", AlertUnreadApi.as_view(), name="alert-unread"),
    path("alerts/<int:alert_id>/dismiss", AlertDismissApi.as_view(), name="alert-dismiss"),
    path("alerts/<int:alert_id>/undismiss", AlertUndismissApi.as_view(), name="alert-undismiss"),
]
