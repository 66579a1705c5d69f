"""Team invitations (team managers) and accepting one (the invited account)."""

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
from accounts.apis.teams import MemberDetailApi
from accounts.models import TeamInvitation, TeamRole
from accounts.throttling import client_ip

ERRORS = {
    400: OpenApiResponse(description='Invalid input: `{"code", "message", "details"}`.'),
    403: OpenApiResponse(description="A reader of the team who is not a team manager."),
    404: OpenApiResponse(description="No such team or invitation (or not yours)."),
}
STATUSES = ["pending", "accepted", "revoked", "expired"]


class InvitationDetailApi(APIView):
    """One invitation of the team (team managers). The token is never shown again."""

    class OutputSerializer(serializers.ModelSerializer):
        status = serializers.ChoiceField(choices=STATUSES, read_only=True)
        invited_by = UserSummarySerializer(allow_null=True)
        accepted_by = UserSummarySerializer(allow_null=True)

        class Meta:
            model = TeamInvitation
            fields = [
                "id", "team_id", "email", "role", "status", "invited_by", "created_at", "expires_at",
                "accepted_at", "accepted_by", "revoked_at",
            ]  # fmt: skip
            ref_name = "TeamInvitation"

    @extend_schema(tags=["invitations"], responses={200: OutputSerializer, **ERRORS})
    def get(self, request: Request, team_id: int, invitation_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        invitation = selectors.invitation_get(team=team, invitation_id=invitation_id)
        return Response(InvitationDetailApi.OutputSerializer(invitation).data)


class InvitationListApi(APIView):
    """Invitations of the team, newest first, optionally by status (team managers)."""

    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=STATUSES, required=False)

        class Meta:
            ref_name = "InvitationFilter"

    @extend_schema(
        operation_id="teams_invitations_list",
        tags=["invitations"],
        parameters=[FilterSerializer],
        responses={200: page_of(InvitationDetailApi.OutputSerializer, "TeamInvitationPage"), **ERRORS},
    )
    def get(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        filters = InvitationListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        invitations = selectors.invitation_list(team=team, status=filters.validated_data.get("status"))
        return paginated(request, self, invitations, InvitationDetailApi.OutputSerializer)


class InvitationCreateApi(APIView):
    """Invite an email (it may have no account yet) with a team role. The invitation expires after
    `INVITATION_TTL_DAYS`, is single-use, and is emailed with its link; the response shows the
    `token` this once (only its sha256 is stored). Inviting the same email again replaces a
    pending invitation. Accepting makes a customer account an agent (team roles are for staff)."""

    class InputSerializer(StrictInputSerializer):
        email = serializers.EmailField(max_length=254)
        role = serializers.ChoiceField(choices=TeamRole.choices, default=TeamRole.AGENT)

        class Meta:
            ref_name = "InvitationCreateInput"

    class OutputSerializer(InvitationDetailApi.OutputSerializer):
        token = serializers.SerializerMethodField(help_text="Shown only in this response.")
        accept_url = serializers.SerializerMethodField()

        class Meta(InvitationDetailApi.OutputSerializer.Meta):
            fields = [*InvitationDetailApi.OutputSerializer.Meta.fields, "token", "accept_url"]
            ref_name = "TeamInvitationCreated"

        def get_token(self, invitation: Any) -> str:
            return str(self.context["token"])

        def get_accept_url(self, invitation: Any) -> str:
            return services.invitation_accept_url(self.context["token"])

    @extend_schema(
        tags=["invitations"],
        request=InputSerializer,
        responses={201: OutputSerializer, 409: OpenApiResponse(description="Already a member."), **ERRORS},
    )
    def post(self, request: Request, team_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        serializer = InvitationCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, token = services.invitation_create(team=team, by=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        output = InvitationCreateApi.OutputSerializer(invitation, context={"token": token})
        return Response(output.data, status=status.HTTP_201_CREATED)


class InvitationRevokeApi(APIView):
    """Revoke a pending invitation (`DELETE`; the row stays, as history). Repeating is harmless;
    an accepted invitation cannot be revoked (409)."""

    @extend_schema(tags=["invitations"], responses={200: InvitationDetailApi.OutputSerializer, **ERRORS})
    def delete(self, request: Request, team_id: int, invitation_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        invitation = selectors.invitation_get(team=team, invitation_id=invitation_id)
        invitation = services.invitation_revoke(invitation=invitation, by=request.user)  # type: ignore[arg-type]
        return Response(InvitationDetailApi.OutputSerializer(invitation).data)


class InvitationRevokeActionApi(APIView):
    """Same as `DELETE /teams/{team_id}/invitations/{invitation_id}`, for clients that prefer a POST."""

    @extend_schema(tags=["invitations"], request=None, responses={200: InvitationDetailApi.OutputSerializer, **ERRORS})
    def post(self, request: Request, team_id: int, invitation_id: int) -> Response:
        team = selectors.team_access(user=request.user, team_id=team_id, capability=caps.TEAM_MANAGE)  # type: ignore[arg-type]
        invitation = selectors.invitation_get(team=team, invitation_id=invitation_id)
        invitation = services.invitation_revoke(invitation=invitation, by=request.user)  # type: ignore[arg-type]
        return Response(InvitationDetailApi.OutputSerializer(invitation).data)


class InvitationAcceptApi(APIView):
    """Accept an invitation with the token from the email, signed in as the invited address.
    Creates the membership (a customer account becomes an agent). Single-use: a second accept is
    409 `invitation_already_used`; expired (`invitation_expired`) or revoked
    (`invitation_revoked`) is 410; another account's invitation is 403."""

    class OutputSerializer(MemberDetailApi.OutputSerializer):
        team_id = serializers.IntegerField()

        class Meta(MemberDetailApi.OutputSerializer.Meta):
            fields = ["team_id", *MemberDetailApi.OutputSerializer.Meta.fields]
            ref_name = "InvitationAccepted"

    @extend_schema(
        tags=["invitations"],
        request=None,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(description="Already used."),
            410: OpenApiResponse(description="Expired or revoked."),
            **ERRORS,
        },
    )
    def post(self, request: Request, token: str) -> Response:
        membership = services.invitation_accept(token=token, user=request.user, ip=client_ip(request))  # type: ignore[arg-type]
        return Response(InvitationAcceptApi.OutputSerializer(membership).data)
