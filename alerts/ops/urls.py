"""Operations API routes, included under /api/v1/ through ``alerts.ops_urls``."""

from __future__ import annotations

from django.urls import path

from alerts.ops import apis

urlpatterns = [
    path("alert-rules", apis.AlertRuleListCreateApi.as_view(), name="alert-rule-list"),
    path("alert-rules/schema", apis.AlertRuleSchemaApi.as_view(), name="alert-rule-schema"),
    path("alert-rules/<int:rule_id>", apis.AlertRuleDetailApi.as_view(), name="alert-rule-detail"),
    path("teams/<int:team_id>/sla-policies", apis.SlaPolicyListCreateApi.as_view(), name="sla-policy-list"),
    path(
        "teams/<int:team_id>/sla-policies/<int:policy_id>",
        apis.SlaPolicyDetailApi.as_view(),
        name="sla-policy-detail",
    ),
    path("teams/<int:team_id>/ops-settings", apis.TeamOpsSettingsApi.as_view(), name="team-ops-settings"),
    path("teams/<int:team_id>/summaries", apis.SummaryListApi.as_view(), name="team-summary-list"),
    path("teams/<int:team_id>/summaries/<int:summary_id>", apis.SummaryDetailApi.as_view(), name="team-summary-detail"),
]
