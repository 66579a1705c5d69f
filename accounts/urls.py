"""Accounts API, mounted under /api/v1/."""

from __future__ import annotations

from django.urls import path

from accounts.apis import auth, invitations, shifts, teams, users
from accounts.apis.common import compose

TEAM = "teams/<int:team_id>"

urlpatterns = [
    path("auth/register", auth.RegisterApi.as_view(), name="auth-register"),
    path("auth/token", auth.TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh", auth.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout", auth.LogoutApi.as_view(), name="auth-logout"),
    path("me", auth.MeApi.as_view(), name="me"),
    path("users", compose("UsersApi", users.UserListApi, users.UserCreateApi), name="users"),
    path(
        "users/<int:user_id>",
        compose("UserApi", users.UserDetailApi, users.UserUpdateApi),
        name="user-detail",
    ),
    path("teams", compose("TeamsApi", teams.TeamListApi, teams.TeamCreateApi), name="teams"),
    path(f"{TEAM}", compose("TeamApi", teams.TeamDetailApi, teams.TeamUpdateApi), name="team-detail"),
    path(
        f"{TEAM}/members",
        compose("MembersApi", teams.MemberListApi, teams.MemberAddApi),
        name="team-members",
    ),
    path(
        f"{TEAM}/members/<int:user_id>",
        compose("MemberApi", teams.MemberDetailApi, teams.MemberUpdateApi, teams.MemberRemoveApi),
        name="team-member-detail",
    ),
    path(
        f"{TEAM}/invitations",
        compose("InvitationsApi", invitations.InvitationListApi, invitations.InvitationCreateApi),
        name="team-invitations",
    ),
    path(
        f"{TEAM}/invitations/<int:invitation_id>",
        compose("InvitationApi", invitations.InvitationDetailApi, invitations.InvitationRevokeApi),
        name="team-invitation-detail",
    ),
    path(
        f"{TEAM}/invitations/<int:invitation_id>/revoke",
        invitations.InvitationRevokeActionApi.as_view(),
        name="team-invitation-revoke",
    ),
    path("invitations/<str:token>/accept", invitations.InvitationAcceptApi.as_view(), name="invitation-accept"),
    path(f"{TEAM}/shifts", compose("ShiftsApi", shifts.ShiftListApi, shifts.ShiftCreateApi), name="team-shifts"),
    path(
        f"{TEAM}/shifts/<int:shift_id>",
        compose("ShiftApi", shifts.ShiftDetailApi, shifts.ShiftUpdateApi, shifts.ShiftDeleteApi),
        name="team-shift-detail",
    ),
    path(f"{TEAM}/on-call", shifts.OnCallApi.as_view(), name="team-on-call"),
]
