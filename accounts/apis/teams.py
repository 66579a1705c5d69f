"""Teams (tenants) and their members.

Platform admins create teams (``teams.create``) and become the new team's owner. Readers of a
team (any team role, or platform admins) list it and its members; team managers (owner/admin)
change it and its members; only owners grant, change or remove the owner role. Another
tenant's team is 404, never 403.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import capabilities as caps
from accounts import selectors, services
from accounts.apis.common import StrictInputSerializer, UserSummarySerializer, page_of, paginated
from accounts.models import Team, TeamMembership, TeamRole
from alertguardian.api import InvalidInput

ERRORS = {
    400: OpenApiResponse(description='Invalid input: `{"code", "message", "details"}`.'),
    403: OpenApiResponse(description="A reader of the team lacking the capability."),
    404: OpenApiResponse(description="No such team (or not yours)."),
}


class TeamDetailApi(APIView):
    """One team the caller can read."""

    class OutputSerializer(serializers.ModelSerializer):
        my_role = serializers.SerializerMethodField(help_text="The caller's team role (null if not a member).")

        class Meta:
            model = Team
            fields = ["id", "name", "slug", "timezone", "created_at", "my_role"]
            ref_name = "Team"

        def get_my_role(self, team: Any) -> str | None:
            if hasattr(team, "my_role"):
                return team.my_role
            return selectors.team_role_of(user=self.context["request"].user, team_id=team.pk)

    @extend_schema(tags=["teams"], responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id)  # type: ignore[arg-type]
        return Response(TeamDetailApi.OutputSerializer(team, context={"request": request}).data)


class TeamUpdateApi(APIView):
    """Rename the team or change its time zone (team managers)."""

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=120, required=False)
        timezone = serializers.CharField(max_length=64, required=False, help_text="IANA name, e.g. Europe/London")

        class Meta:
            ref_name = "TeamUpdateInput"

    @extend_schema(tags=["teams"], request=InputSerializer, responses={200: TeamDetailApi.OutputSerializer, **ERRORS})
    def patch(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        serializer = TeamUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes: dict[str, Any] = dict(serializer.validated_data)
        if "timezone" in changes:
            changes["timezone_name"] = changes.pop("timezone")
        team = services.team_update(team=team, by=request.user, **changes)  # type: ignore[arg-type]
        return Response(TeamDetailApi.OutputSerializer(team, context={"request": request}).data)


class TeamListApi(APIView):
    """Teams the caller can read, by name (platform admins: every team)."""

    @extend_schema(
        operation_id="teams_list",
        tags=["teams"],
        responses={200: page_of(TeamDetailApi.OutputSerializer, "TeamPage"), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        teams = selectors.team_list_for_user(user=request.user)  # type: ignore[arg-type]
        return paginated(request, self, teams, TeamDetailApi.OutputSerializer, ordering=("name",))


class TeamCreateApi(APIView):
    """Open a new team (platform admins, `teams.create`); the creator becomes its owner."""

    class InputSerializer(StrictInputSerializer):
        name = serializers.CharField(max_length=120)
        slug = serializers.SlugField(max_length=100, required=False, default="")
        timezone = serializers.CharField(max_length=64, required=False, default="UTC")

        class Meta:
            ref_name = "TeamCreateInput"

    @extend_schema(tags=["teams"], request=InputSerializer, responses={201: TeamDetailApi.OutputSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        selectors.require_platform_capability(user=request.user, capability=caps.TEAMS_CREATE)  # type: ignore[arg-type]
        serializer = TeamCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = services.team_create(
            name=data["name"],
            slug=data["slug"],
            timezone_name=data["timezone"],
            by=request.user,  # type: ignore[arg-type]
            owner=request.user,  # type: ignore[arg-type]
        )
        return Response(
            TeamDetailApi.OutputSerializer(team, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class MemberDetailApi(APIView):
    """One member of the team (readers)."""

    class OutputSerializer(serializers.ModelSerializer):
        user = UserSummarySerializer()

        class Meta:
            model = TeamMembership
            fields = ["user", "role", "created_at"]
            ref_name = "TeamMember"

    @extend_schema(tags=["teams"], responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request, team_id: int, user_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id)  # type: ignore[arg-type]
        membership = selectors.membership_get(team=team, user_id=user_id)
        return Response(MemberDetailApi.OutputSerializer(membership).data)


class MemberListApi(APIView):
    """Members of the team, oldest first (readers)."""

    @extend_schema(
        operation_id="teams_members_list",
        tags=["teams"],
        responses={200: page_of(MemberDetailApi.OutputSerializer, "TeamMemberPage"), **ERRORS},
    )
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id)  # type: ignore[arg-type]
        return paginated(request, self, selectors.membership_list(team=team), MemberDetailApi.OutputSerializer, "id")


class MemberAddApi(APIView):
    """Add an existing staff account (agent or admin) by `user_id` or `email` (team managers).
    For someone without a staff account, send an invitation instead."""

    class InputSerializer(StrictInputSerializer):
        user_id = serializers.IntegerField(required=False)
        email = serializers.EmailField(required=False)
        role = serializers.ChoiceField(choices=TeamRole.choices, default=TeamRole.AGENT)

        class Meta:
            ref_name = "TeamMemberAddInput"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("user_id" in attrs) == ("email" in attrs):
                raise serializers.ValidationError({"user_id": ["Give exactly one of user_id or email."]})
            return attrs

    @extend_schema(
        tags=["teams"],
        request=InputSerializer,
        responses={
            201: MemberDetailApi.OutputSerializer,
            409: OpenApiResponse(description="Already a member."),
            **ERRORS,
        },
    )
    def post(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        serializer = MemberAddApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = selectors.user_find(user_id=data.get("user_id"), email=data.get("email"))
        if user is None:
            raise InvalidInput(
                "No account with this id or email; invite them instead.",
                details={"email" if "email" in data else "user_id": ["No such account."]},
                code="user_not_found",
            )
        membership = services.membership_add(team=team, user=user, role=data["role"], by=request.user)  # type: ignore[arg-type]
        return Response(MemberDetailApi.OutputSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberUpdateApi(APIView):
    """Change a member's team role (team managers; the owner role needs an owner). The last owner
    cannot be demoted (409). A role that cannot work alerts ends the member's on-call shifts."""

    class InputSerializer(StrictInputSerializer):
        role = serializers.ChoiceField(choices=TeamRole.choices)

        class Meta:
            ref_name = "TeamMemberUpdateInput"

    @extend_schema(tags=["teams"], request=InputSerializer, responses={200: MemberDetailApi.OutputSerializer, **ERRORS})
    def patch(self, request: Request, team_id: int, user_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        membership = selectors.membership_get(team=team, user_id=user_id)
        serializer = MemberUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_role_change(
            membership=membership,
            role=serializer.validated_data["role"],
            by=request.user,  # type: ignore[arg-type]
        )
        return Response(MemberDetailApi.OutputSerializer(membership).data)


class MemberRemoveApi(APIView):
    """Remove a member (team managers), or leave the team yourself (any member). The last owner
    cannot be removed (409). The member's current and future shifts in the team end."""

    @extend_schema(tags=["teams"], responses={204: None, 409: OpenApiResponse(description="Last owner."), **ERRORS})
    def delete(self, request: Request, team_id: int, user_id: int) -> Response:
        leaving = user_id == request.user.pk
        capability = caps.ALERTS_READ if leaving else caps.TEAM_MANAGE
        team = selectors.team_access(user=request.user, team_id=team_id, capability=capability)  # type: ignore[arg-type]
        membership = selectors.membership_get(team=team, user_id=user_id)
        services.membership_remove(membership=membership, by=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
