"""Input and output shapes of the escalation API (type checks here; rules in the services)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import TeamRole
from alerts.models import Severity
from escalation.models import (
    EscalationPolicy,
    EscalationRun,
    EscalationStep,
    FallbackMode,
    Notification,
    StepKind,
    Subscription,
)
from escalation.services.policies import (
    ACK_WINDOW_RANGE,
    MAX_STEPS,
    NOTIFY_CHANNELS,
    REPEAT_TIMES_RANGE,
    STEP_FIELDS,
    WAIT_RANGE,
    WEBHOOK_ATTEMPTS_RANGE,
    WEBHOOK_TIMEOUT_RANGE,
)


def _int(bounds: tuple[int, int], help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=bounds[0], max_value=bounds[1], required=False, allow_null=True, help_text=help_text
    )


class StepInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=StepKind.choices)
    ack_window_seconds = _int(ACK_WINDOW_RANGE, "notify_*: seconds to acknowledge before the run moves on (300)")
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=[(c.value, c.label) for c in NOTIFY_CHANNELS]),
        required=False,
        help_text="notify_*: channels instead of each recipient's subscriptions; in_app is always added",
    )
    target_user = serializers.IntegerField(required=False, allow_null=True, help_text="notify_user: a staff user id")
    target_role = serializers.ChoiceField(choices=TeamRole.choices, required=False, help_text="notify_role")
    wait_seconds = _int(WAIT_RANGE, "wait: seconds")
    repeat_to_position = serializers.IntegerField(
        min_value=0, max_value=MAX_STEPS, required=False, allow_null=True, help_text="repeat: 0-based earlier step"
    )
    repeat_times = _int(REPEAT_TIMES_RANGE, "repeat: how many times at most")
    fallback_mode = serializers.ChoiceField(choices=FallbackMode.choices, required=False, help_text="fallback")
    webhook_url = serializers.URLField(max_length=500, required=False, help_text="webhook: http(s) URL")
    webhook_secret = serializers.CharField(
        min_length=16,
        max_length=128,
        required=False,
        write_only=True,
        help_text="webhook: omit to get one (shown once)",
    )
    webhook_timeout_seconds = _int(WEBHOOK_TIMEOUT_RANGE, "webhook: timeout in seconds (5)")
    webhook_max_attempts = _int(WEBHOOK_ATTEMPTS_RANGE, "webhook: attempts before it is marked failed (5)")


class StepPatchSerializer(StepInputSerializer):
    kind = serializers.ChoiceField(choices=StepKind.choices, required=False)


class StepAddSerializer(StepInputSerializer):
    position = serializers.IntegerField(min_value=0, max_value=MAX_STEPS, required=False, help_text="default: last")


class PolicyInputSerializer(serializers.Serializer):
    team = serializers.IntegerField()
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    is_default = serializers.BooleanField(required=False, default=False)
    match_severities = serializers.ListField(child=serializers.ChoiceField(choices=Severity.choices), required=False)
    match_types = serializers.ListField(child=serializers.CharField(max_length=64), required=False)
    priority = serializers.IntegerField(min_value=0, max_value=1000, required=False)
    enabled = serializers.BooleanField(required=False)
    steps = serializers.ListField(child=StepInputSerializer(), min_length=1, max_length=MAX_STEPS)


class PolicyUpdateSerializer(PolicyInputSerializer):
    team = None  # type: ignore[assignment]  # a policy never moves to another team
    name = serializers.CharField(max_length=120, required=False)
    steps = serializers.ListField(child=StepInputSerializer(), min_length=1, max_length=MAX_STEPS, required=False)


class StepsOrderSerializer(serializers.Serializer):
    step_ids = serializers.ListField(child=serializers.IntegerField(), max_length=MAX_STEPS)


class StepOutputSerializer(serializers.ModelSerializer):
    webhook_secret_set = serializers.SerializerMethodField()

    class Meta:
        model = EscalationStep
        fields = [
            "id",
            "position",
            "kind",
            *(name for name in STEP_FIELDS if name != "webhook_secret"),
            "webhook_secret_set",
        ]

    def get_webhook_secret_set(self, step: EscalationStep) -> bool:
        return bool(step.webhook_secret)


class PolicyOutputSerializer(serializers.ModelSerializer):
    steps = StepOutputSerializer(many=True, read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = [
            "id",
            "team",
            "name",
            "description",
            "is_default",
            "match_severities",
            "match_types",
            "priority",
            "enabled",
            "steps",
            "created_at",
            "updated_at",
        ]


class RunOutputSerializer(serializers.ModelSerializer):
    policy_name = serializers.SerializerMethodField()
    current_step_kind = serializers.SerializerMethodField()

    class Meta:
        model = EscalationRun
        fields = [
            "id",
            "alert",
            "policy",
            "policy_name",
            "status",
            "current_step",
            "current_step_kind",
            "step_seq",
            "repeat_counts",
            "next_run_at",
            "started_at",
            "finished_at",
            "stop_reason",
        ]

    def get_policy_name(self, run: EscalationRun) -> str:
        return str(run.policy_snapshot.get("name", ""))

    def get_current_step_kind(self, run: EscalationRun) -> str | None:
        steps: list[dict[str, Any]] = run.policy_snapshot.get("steps", [])
        return steps[run.current_step]["kind"] if run.current_step < len(steps) else None


class SubscriptionSerializer(serializers.ModelSerializer):
    alert_type = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    severity = serializers.ChoiceField(
        choices=[("", "any"), *Severity.choices], required=False, allow_blank=True, default=""
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=[(c.value, c.label) for c in NOTIFY_CHANNELS])
    )

    class Meta:
        model = Subscription
        fields = ["alert_type", "severity", "channels"]


class SubscriptionsPutSerializer(serializers.Serializer):
    subscriptions = serializers.ListField(child=SubscriptionSerializer(), max_length=200)


class NotificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "alert", "created_at", "read_at", "data"]
