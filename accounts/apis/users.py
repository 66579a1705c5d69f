"""Platform user management (``users.manage``: platform admins). Everyone else gets 403 on
every ``/users`` route, before any lookup, so nothing about other users can be learned."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts import selectors, services
from accounts.apis.common import StrictInputSerializer, page_of, paginated
from accounts.models import User, UserRole
from accounts.permissions import platform_capability

PERMISSIONS: list[type[BasePermission]] = [IsAuthenticated, platform_capability(caps.USERS_MANAGE)]
ERRORS = {
    400: OpenApiResponse(description='Invalid input: `{"code", "message", "details"}`.'),
    403: OpenApiResponse(description="Not a platform admin."),
}


class UserDetailApi(APIView):
    """One user."""

    permission_classes = PERMISSIONS

    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = User
            fields = [
                "id", "email", "full_name", "phone", "role", "is_active", "is_staff", "date_joined", "last_login",
            ]  # fmt: skip
            ref_name = "User"

    @extend_schema(
        tags=["users"], responses={200: OutputSerializer, 404: OpenApiResponse(description="No such user."), **ERRORS}
    )
    def get(self, request: Request, user_id: int) -> Response:
        user = selectors.user_get(actor=request.user, user_id=user_id)  # type: ignore[arg-type]
        return Response(UserDetailApi.OutputSerializer(user).data)


class UserListApi(APIView):
    """All users, newest first (cursor pages); filter by role, active flag, or a search on email/name."""

    permission_classes = PERMISSIONS

    class FilterSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=UserRole.choices, required=False)
        is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
        search = serializers.CharField(required=False, default="", max_length=200)

        class Meta:
            ref_name = "UserFilter"

    @extend_schema(
        operation_id="users_list",
        tags=["users"],
        parameters=[FilterSerializer],
        responses={200: page_of(UserDetailApi.OutputSerializer, "UserPage"), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        filters = UserListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        users = selectors.user_list(actor=request.user, **filters.validated_data)  # type: ignore[arg-type]
        return paginated(request, self, users, UserDetailApi.OutputSerializer)


class UserCreateApi(APIView):
    """Create an account with any role (agents and admins are only made here or in the console).
    Admins also get the ops console (Django admin)."""

    permission_classes = PERMISSIONS

    class InputSerializer(StrictInputSerializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
        role = serializers.ChoiceField(choices=UserRole.choices)
        full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "UserCreateInput"

    @extend_schema(
        tags=["users"],
        request=InputSerializer,
        responses={201: UserDetailApi.OutputSerializer, 409: OpenApiResponse(description="Email taken."), **ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = UserCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_create(by=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(UserDetailApi.OutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserUpdateApi(APIView):
    """Change role, active flag or profile. Each change is audited; deactivating ends the user's
    sessions (refresh tokens blacklisted). The last active platform admin cannot be demoted or
    deactivated (409), and a team member cannot be made a customer (409: remove them first)."""

    permission_classes = PERMISSIONS

    class InputSerializer(StrictInputSerializer):
        role = serializers.ChoiceField(choices=UserRole.choices, required=False)
        is_active = serializers.BooleanField(required=False)
        full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
        phone = serializers.CharField(max_length=32, required=False, allow_blank=True)

        class Meta:
            ref_name = "UserUpdateInput"

    @extend_schema(
        tags=["users"],
        request=InputSerializer,
        responses={200: UserDetailApi.OutputSerializer, 409: OpenApiResponse(description="Invariant."), **ERRORS},
    )
    def patch(self, request: Request, user_id: int) -> Response:
        user = selectors.user_get(actor=request.user, user_id=user_id)  # type: ignore[arg-type]
        serializer = UserUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(serializer.validated_data)
        user = services.user_update(user=user, by=request.user, **changes)  # type: ignore[arg-type]
        return Response(UserDetailApi.OutputSerializer(user).data)
