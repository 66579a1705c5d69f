from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alertguardian.api import DefaultCursorPagination
from audit.models import AuditEntry
from audit.selectors import audit_entries_for_user


class AuditListApi(APIView):
    """The audit log, newest first (cursor pagination). Platform admins see every entry;
    team owners/admins see the entries of their teams."""

    class FilterSerializer(serializers.Serializer):
        actor = serializers.CharField(required=False, help_text="actor id or email")
        action = serializers.CharField(
            required=False, help_text='exact action, or a prefix ending in "." (e.g. "alert.")'
        )
        target_type = serializers.CharField(required=False, help_text='e.g. "alerts.alert"')
        target_id = serializers.CharField(required=False)
        team = serializers.IntegerField(required=False, source="team_id")
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = AuditEntry
            fields = [
                "id", "created_at", "actor_id", "actor_label", "team_id", "action",
                "target_type", "target_id", "data", "ip_address", "prev_hash", "hash",
            ]  # fmt: skip

    @extend_schema(parameters=[FilterSerializer], responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = audit_entries_for_user(user=request.user, **filters.validated_data)  # type: ignore[arg-type]
        paginator = DefaultCursorPagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
