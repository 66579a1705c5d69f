"""Output shapes of the operations API (inputs are nested in each view in ``apis``)."""

from __future__ import annotations

from rest_framework import serializers

from alerts.ops.models import AlertRule, DailySummary, SlaPolicy, TeamOpsSettings


class AlertRuleOutputSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    created_by = serializers.IntegerField(source="created_by_id", read_only=True, allow_null=True)

    class Meta:
        model = AlertRule
        fields = [
            "id", "team", "name", "description", "kind", "enabled", "definition",
            "next_run_at", "last_run_at", "last_fired_at", "fire_count", "last_error",
            "created_by", "created_at", "updated_at",
        ]  # fmt: skip


class SlaPolicyOutputSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)

    class Meta:
        model = SlaPolicy
        fields = [
            "id", "team", "severity", "ack_within_minutes", "resolve_within_minutes",
            "at_risk_buffer_minutes", "enabled", "created_at", "updated_at",
        ]  # fmt: skip


class TeamOpsSettingsOutputSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    payment_failed_severity = serializers.CharField(read_only=True)
    timezone = serializers.CharField(source="team.timezone", read_only=True)
    summary_subscribers = serializers.SerializerMethodField()

    class Meta:
        model = TeamOpsSettings
        fields = [
            "team", "timezone", "summary_enabled", "summary_time", "summary_subscribers",
            "workload_threshold", "unassigned_minutes", "retention_days", "payment_failed_severity",
        ]  # fmt: skip

    def get_summary_subscribers(self, obj: TeamOpsSettings) -> list[int]:
        if obj.pk is None:
            return []
        return sorted(obj.summary_subscribers.values_list("pk", flat=True))


class DailySummaryOutputSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id", read_only=True)
    kind = serializers.CharField(read_only=True, help_text='"daily" (team settings) or "rule" (a time rule)')
    rule = serializers.IntegerField(source="rule_id", read_only=True, allow_null=True)

    class Meta:
        model = DailySummary
        fields = [
            "id",
            "team",
            "kind",
            "rule",
            "date",
            "period_start",
            "period_end",
            "data",
            "emailed_to",
            "created_at",
        ]
