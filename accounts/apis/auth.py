"""Registration, sign-in (JWT), token rotation, sign-out and the caller's profile."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.apis.common import StrictInputSerializer
from accounts.exceptions import RoleNotAllowed
from accounts.models import UserRole
from accounts.throttling import RegistrationRateThrottle, client_ip

ERRORS = {
    400: OpenApiResponse(description='Invalid input: `{"code", "message", "details"}`.'),
    401: OpenApiResponse(description="Not authenticated or bad credentials/token."),
}


class MeApi(APIView):
    """The caller: profile, platform role and capabilities, teams with team role and capabilities."""

    class OutputSerializer(serializers.Serializer):
        class TeamGrantSerializer(serializers.Serializer):
            id = serializers.IntegerField(source="team.id")
            name = serializers.CharField(source="team.name")
            slug = serializers.CharField(source="team.slug")
            timezone = serializers.CharField(source="team.timezone")
            role = serializers.CharField()
            capabilities = serializers.SerializerMethodField()

            class Meta:
                ref_name = "MeTeam"

            def get_capabilities(self, grant: selectors.TeamGrant) -> list[str]:
                return sorted(grant.capabilities)

        id = serializers.IntegerField()
        email = serializers.EmailField()
        full_name = serializers.CharField()
        phone = serializers.CharField()
        role = serializers.CharField()
        date_joined = serializers.DateTimeField()
        capabilities = serializers.SerializerMethodField(help_text="Held in every team (platform role).")
        teams = serializers.SerializerMethodField()

        class Meta:
            ref_name = "Me"

        def get_capabilities(self, user: Any) -> list[str]:
            return sorted(selectors.platform_capabilities(user=user))

        @extend_schema_field(TeamGrantSerializer(many=True))
        def get_teams(self, user: Any) -> list[dict[str, Any]]:
            grants = selectors.user_team_grants(user=user)
            return self.TeamGrantSerializer(grants, many=True).data  # type: ignore[return-value]

    @extend_schema(tags=["auth"], responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        return Response(MeApi.OutputSerializer(request.user).data)


class RegisterApi(APIView):
    """Self-service sign-up. Always creates a **customer**: asking for any other role is refused
    (`role_not_allowed`); staff accounts are created by a platform admin (`POST /users`).
    Pending invitations for the email are accepted in the same transaction, so someone invited
    before they had an account lands in those teams (and becomes an agent, see invitations)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationRateThrottle]

    class InputSerializer(StrictInputSerializer):
        role = serializers.CharField(required=False, help_text='Only "customer" is accepted.')
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
        full_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
        phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "RegisterInput"

        def validate_role(self, value: str) -> str:
            if value != UserRole.CUSTOMER:
                raise RoleNotAllowed(details={"role": [f"{value!r} cannot be chosen at registration."]})
            return value

    @extend_schema(tags=["auth"], request=InputSerializer, responses={201: MeApi.OutputSerializer, **ERRORS}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = RegisterApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("role", None)
        user, _ = services.user_register(**data, ip=client_ip(request))
        return Response(MeApi.OutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(APIView):
    """Sign in with email and password. After too many failures for the email
    (`LOGIN_FAILURE_LIMIT_PER_ACCOUNT`) or from the address (`LOGIN_FAILURE_LIMIT_PER_IP`) within
    `LOGIN_FAILURE_WINDOW_SECONDS`, sign-in answers 429 with `Retry-After` until the window ends,
    even with the right password."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)

        class Meta:
            ref_name = "TokenObtainInput"

    class OutputSerializer(serializers.Serializer):
        access = serializers.CharField()
        refresh = serializers.CharField()

        class Meta:
            ref_name = "TokenPair"

    @extend_schema(
        tags=["auth"],
        request=InputSerializer,
        responses={200: OutputSerializer, 429: OpenApiResponse(description="Locked out."), **ERRORS},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.auth_login(**serializer.validated_data, ip=client_ip(request))
        return Response(TokenObtainApi.OutputSerializer(tokens).data)


class TokenRefreshApi(APIView):
    """Exchange a refresh token for a new pair. The refresh token is rotated: the one sent is
    blacklisted and refused from then on."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        refresh = serializers.CharField()

        class Meta:
            ref_name = "TokenRefreshInput"

    @extend_schema(
        tags=["auth"], request=InputSerializer, responses={200: TokenObtainApi.OutputSerializer, **ERRORS}, auth=[]
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.auth_token_refresh(refresh=serializer.validated_data["refresh"])
        return Response(TokenObtainApi.OutputSerializer(tokens).data)


class LogoutApi(APIView):
    """Sign out: blacklists the refresh token (400 for a bad, expired or already used one).
    The refresh token is the credential here, so this works after the access token expired;
    access tokens run out on their own within minutes (drop them client-side)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    class InputSerializer(StrictInputSerializer):
        refresh = serializers.CharField()

        class Meta:
            ref_name = "LogoutInput"

    @extend_schema(tags=["auth"], request=InputSerializer, responses={204: None, **ERRORS}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = LogoutApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(refresh=serializer.validated_data["refresh"], ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
