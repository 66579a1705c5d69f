"""Helpers shared by the accounts API views."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Team
from alertguardian.api import DefaultCursorPagination


def compose(name: str, *operations: type[APIView]) -> Any:
    """One URL, several operations: each operation is its own view class (one HTTP method,
    its own nested serializers); this joins them into the view Django routes to.

    The operations must agree on authentication/permissions (asserted), because DRF checks
    them before it knows which method runs.
    """
    first = operations[0]
    for operation in operations:
        assert operation.permission_classes == first.permission_classes, name
        assert operation.authentication_classes == first.authentication_classes, name
        # The API docs describe each method with its operation's docstring, not the first one's.
        for method in operation.http_method_names:
            handler = operation.__dict__.get(method)
            if handler is not None and not handler.__doc__:
                handler.__doc__ = operation.__doc__
    view_class = cast(type[APIView], type(name, operations, {"__doc__": first.__doc__}))
    return view_class.as_view()


class StrictInputSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo or a read-only field is a 400, not silently ignored)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()

    class Meta:
        ref_name = "UserSummary"


def page_of(serializer: type[serializers.BaseSerializer], name: str) -> Any:
    """The schema of one cursor page of ``serializer`` items (for ``extend_schema``)."""
    return inline_serializer(
        name=name,
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null."),
            "results": serializer(many=True),
        },
    )


def paginated(
    request: Request,
    view: APIView,
    queryset: QuerySet[Any],
    serializer: type[serializers.BaseSerializer],
    ordering: str | tuple[str, ...] = "-id",
) -> Response:
    paginator = DefaultCursorPagination()
    paginator.ordering = ordering  # type: ignore[assignment]  # DRF accepts a tuple too
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


@contextmanager
def team_timezone(team: Team) -> Iterator[None]:
    """Read naive datetimes and write outputs in the team's time zone (offsets always shown)."""
    with timezone.override(zoneinfo.ZoneInfo(team.timezone)):
        yield
