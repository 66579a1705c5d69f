"""Output shapes shared by several alert endpoints (inputs are nested in each view).

``Meta.ref_name`` names the OpenAPI component, so nested ``InputSerializer`` classes
of different views do not collide in /api/v1/schema/.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from alerts.models import Alert


class ErrorSerializer(serializers.Serializer):
    """The one error body of the API (rendered by ``alertguardian.api.exception_handler``)."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. invalid, not_found.")
    message = serializers.CharField()
    details = serializers.JSONField(help_text="Per-field messages for 400; the current state for 409.")

    class Meta:
        ref_name = "Error"


_ERROR_DESCRIPTIONS = {
    400: "Invalid input: unknown values, wrong types or missing fields (details name the fields).",
    401: "Not authenticated.",
    403: "You can see the alert or team but lack the permission for this action.",
    404: "No such alert or team for you (other tenants' objects are never revealed).",
    409: "The alert's state does not allow this; details carry the current state.",
}


def error_responses(*status_codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_ERROR_DESCRIPTIONS[code])
        for code in (401, *status_codes)
    }


class AlertTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()

    class Meta:
        ref_name = "AlertTeam"


class AlertPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField()

    class Meta:
        ref_name = "AlertPerson"


class AlertStaffPersonSerializer(AlertPersonSerializer):
    email = serializers.EmailField()

    class Meta:
        ref_name = "AlertStaffPerson"


class AlertItemSerializer(serializers.Serializer):
    """An alert in a list or after an action, with the caller's own read/dismiss flags."""

    id = serializers.IntegerField()
    team = AlertTeamSerializer()
    # DRF moves declared fields off the class, so shadowing Field.source is harmless at runtime.
    source = serializers.CharField()  # type: ignore[assignment]
    type = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    resource = serializers.CharField()
    assignee = AlertPersonSerializer(allow_null=True)
    occurrences = serializers.IntegerField()
    affected_bookings_count = serializers.IntegerField()
    ack_deadline = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    read = serializers.SerializerMethodField(help_text="Read by you.")
    dismissed = serializers.SerializerMethodField(help_text="Dismissed by you.")

    class Meta:
        ref_name = "AlertItem"

    def get_read(self, alert: Alert) -> bool:
        return getattr(alert, "my_read_at", None) is not None

    def get_dismissed(self, alert: Alert) -> bool:
        return getattr(alert, "my_dismissed_at", None) is not None


class AlertPageSerializer(serializers.Serializer):
    """A cursor page: follow ``next`` (an absolute URL) until it is null."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AlertItemSerializer(many=True)

    class Meta:
        ref_name = "AlertPage"


class AlertFullSerializer(AlertItemSerializer):
    """Every field of an alert, for staff."""

    message = serializers.CharField()
    dedup_key = serializers.CharField()
    metadata = serializers.JSONField()
    integration_id = serializers.IntegerField(allow_null=True)
    reported_by = AlertStaffPersonSerializer(allow_null=True)
    assignee = AlertStaffPersonSerializer(allow_null=True)
    acknowledged_by = AlertStaffPersonSerializer(allow_null=True)
    resolved_by = AlertStaffPersonSerializer(allow_null=True)
    resolution_note = serializers.CharField()
    last_occurred_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(source="my_read_at", allow_null=True, help_text="When you read it.")
    dismissed_at = serializers.DateTimeField(
        source="my_dismissed_at", allow_null=True, help_text="When you dismissed it."
    )

    class Meta:
        ref_name = "AlertFull"


class AlertEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    actor_id = serializers.IntegerField(allow_null=True)
    actor_label = serializers.CharField()
    message = serializers.CharField()
    data = serializers.JSONField()  # type: ignore[assignment]  # declared fields leave the class (see source above)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AlertTimelineEntry"


class AlertDetailSerializer(serializers.Serializer):
    alert = AlertFullSerializer()
    timeline = AlertEventSerializer(many=True)

    class Meta:
        ref_name = "AlertDetail"


class AlertCustomerViewSerializer(serializers.Serializer):
    """What a customer sees of an alert on their report or booking (no internal fields)."""

    id = serializers.IntegerField()
    team = AlertTeamSerializer()
    type = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    message = serializers.CharField()
    resource = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(source="my_read_at", allow_null=True)
    dismissed_at = serializers.DateTimeField(source="my_dismissed_at", allow_null=True)

    class Meta:
        ref_name = "AlertCustomerView"


class AlertCustomerTimelineEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "AlertCustomerTimelineEntry"


class AlertCustomerDetailSerializer(serializers.Serializer):
    alert = AlertCustomerViewSerializer()
    timeline = AlertCustomerTimelineEntrySerializer(many=True)

    class Meta:
        ref_name = "AlertCustomerDetail"


class AlertUserStateSerializer(serializers.Serializer):
    """The caller's own state of one alert, and their unread count after the change."""

    alert_id = serializers.IntegerField()
    read_at = serializers.DateTimeField(allow_null=True)
    dismissed_at = serializers.DateTimeField(allow_null=True)
    unread_count = serializers.IntegerField()

    class Meta:
        ref_name = "AlertUserState"
