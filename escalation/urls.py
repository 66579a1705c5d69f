"""Escalation API under /api/v1/."""

from __future__ import annotations

from django.urls import path

from escalation.apis import inbox, policies

urlpatterns = [
    path("escalation-policies", policies.PolicyListCreateApi.as_view(), name="escalation-policy-list"),
    path("escalation-policies/<int:policy_id>", policies.PolicyDetailApi.as_view(), name="escalation-policy-detail"),
    path("escalation-policies/<int:policy_id>/steps", policies.StepAddApi.as_view(), name="escalation-step-add"),
    path(
        "escalation-policies/<int:policy_id>/steps/order",
        policies.StepsOrderApi.as_view(),
        name="escalation-steps-order",
    ),
    path(
        "escalation-policies/<int:policy_id>/steps/<int:step_id>",
        policies.StepDetailApi.as_view(),
        name="escalation-step-detail",
    ),
    path("escalation-runs", policies.RunListApi.as_view(), name="escalation-run-list"),
    path("notifications", inbox.NotificationListApi.as_view(), name="notification-list"),
    path("notifications/read-all", inbox.NotificationReadAllApi.as_view(), name="notification-read-all"),
    path("notifications/<int:notification_id>/read", inbox.NotificationReadApi.as_view(), name="notification-read"),
    path("subscriptions", inbox.SubscriptionsApi.as_view(), name="subscriptions"),
]
