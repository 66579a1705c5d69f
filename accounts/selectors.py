"""Reads about users, teams and on-call that also authorize."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts import capabilities as caps
from accounts.models import ShiftAssignment, Team, TeamInvitation, TeamMembership, User, UserRole
from alertguardian.api import Forbidden, NotFound


def team_role_of(*, user: User, team_id: int) -> str | None:
    if not user.is_authenticated:
        return None
    return TeamMembership.objects.filter(user_id=user.pk, team_id=team_id).values_list("role", flat=True).first()


def user_has_capability(*, user: User, capability: str, team_id: int | None = None) -> bool:
    team_role = team_role_of(user=user, team_id=team_id) if team_id is not None else None
    return capability in caps.capabilities_for(user=user, team_role=team_role)


def team_ids_with_capability(*, user: User, capability: str) -> list[int] | None:
    """Teams where ``user`` holds ``capability``; ``None`` means every team (platform admin)."""
    if capability in caps.PLATFORM_ROLE_CAPABILITIES.get(user.role, frozenset()):
        return None
    if user.role == UserRole.CUSTOMER:
        return []
    roles = [role for role, held in caps.TEAM_ROLE_CAPABILITIES.items() if capability in held]
    return list(TeamMembership.objects.filter(user_id=user.pk, role__in=roles).values_list("team_id", flat=True))


def teams_for_user(*, user: User) -> QuerySet[Team]:
    if user.is_platform_admin:
        return Team.objects.all()
    return Team.objects.filter(memberships__user_id=user.pk).distinct()


def team_get_for_user(*, user: User, team_id: int, capability: str = caps.ALERTS_READ) -> Team:
    """The team if ``user`` holds ``capability`` in it; otherwise not found (never forbidden)."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None or not user_has_capability(user=user, capability=capability, team_id=team.pk):
        raise NotFound("Team not found.")
    return team


def on_call_shifts(*, team_id: int, at: datetime | None = None) -> QuerySet[ShiftAssignment]:
    """Shifts covering ``at`` (default now), in notification order: priority, then start."""
    moment = at or timezone.now()
    return (
        ShiftAssignment.objects.filter(
            team_id=team_id, starts_at__lte=moment, ends_at__gt=moment, agent__is_active=True
        )
        .select_related("agent")
        .order_by("priority", "starts_at", "id")
    )


def on_call_agents(*, team_id: int, at: datetime | None = None) -> list[User]:
    """Agents on duty now for the team, each once, in shift priority order."""
    seen: set[int] = set()
    agents: list[User] = []
    for shift in on_call_shifts(team_id=team_id, at=at):
        if shift.agent_id not in seen:
            seen.add(shift.agent_id)
            agents.append(shift.agent)
    return agents


def team_staff(*, team_id: int, roles: list[str] | None = None) -> QuerySet[User]:
    """Active members of a team (optionally only some team roles), customers excluded."""
    memberships = TeamMembership.objects.filter(team_id=team_id)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return User.objects.filter(
        pk__in=memberships.values("user_id"), is_active=True, role__in=[UserRole.AGENT, UserRole.ADMIN]
    ).order_by("id")


# --- Team access --------------------------------------------------------------------------


def team_access(*, user: User, team_id: int, capability: str = caps.ALERTS_READ) -> Team:
    """The team for an action needing ``capability``.

    Someone who cannot read the team gets not-found (404), so ids of other tenants can't be
    probed; a reader who lacks the capability (a viewer adding a member) gets forbidden (403):
    the team is no secret to them.
    """
    team = Team.objects.filter(pk=team_id).first()
    held = caps.capabilities_for(user=user, team_role=team_role_of(user=user, team_id=team_id) if team else None)
    if team is None or caps.ALERTS_READ not in held:
        raise NotFound("Team not found.")
    if capability not in held:
        raise Forbidden(f"You need the {capability} permission on this team.")
    return team


def team_list_for_user(*, user: User) -> QuerySet[Team]:
    """Teams the user can read (all of them for platform admins), with ``my_role`` annotated."""
    team_ids = team_ids_with_capability(user=user, capability=caps.ALERTS_READ)
    teams = Team.objects.all() if team_ids is None else Team.objects.filter(pk__in=team_ids)
    my_role = TeamMembership.objects.filter(team_id=OuterRef("pk"), user_id=user.pk).values("role")[:1]
    return teams.annotate(my_role=Subquery(my_role))


@dataclass(frozen=True)
class TeamGrant:
    team: Team
    role: str
    capabilities: frozenset[str]


def user_team_grants(*, user: User) -> list[TeamGrant]:
    """The user's memberships with what each lets them do (``GET /me``)."""
    memberships = TeamMembership.objects.filter(user_id=user.pk).select_related("team").order_by("team__name")
    return [
        TeamGrant(team=m.team, role=m.role, capabilities=caps.capabilities_for(user=user, team_role=m.role))
        for m in memberships
    ]


def platform_capabilities(*, user: User) -> frozenset[str]:
    return caps.capabilities_for(user=user, team_role=None)


# --- Users (platform-wide) ----------------------------------------------------------------


def require_platform_capability(*, user: User, capability: str) -> None:
    """For platform-wide resources (all users, new teams): 403 without the capability."""
    if not user_has_capability(user=user, capability=capability):
        raise Forbidden(f"You need the {capability} permission.")


def user_list(
    *, actor: User, role: str | None = None, is_active: bool | None = None, search: str = ""
) -> QuerySet[User]:
    require_platform_capability(user=actor, capability=caps.USERS_MANAGE)
    users = User.objects.all()
    if role:
        users = users.filter(role=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    return users


def user_get(*, actor: User, user_id: int) -> User:
    require_platform_capability(user=actor, capability=caps.USERS_MANAGE)
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    return user


def user_find(*, user_id: int | None = None, email: str | None = None) -> User | None:
    """An account by id or email (for a team manager adding a known colleague)."""
    if user_id is not None:
        return User.objects.filter(pk=user_id).first()
    if email:
        return User.objects.filter(email__iexact=email.strip()).first()
    return None


# --- Members, invitations, shifts of one team (callers pass a team from team_access) ----------


def membership_list(*, team: Team) -> QuerySet[TeamMembership]:
    return TeamMembership.objects.filter(team_id=team.pk).select_related("user")


def membership_get(*, team: Team, user_id: int) -> TeamMembership:
    membership = membership_list(team=team).filter(user_id=user_id).first()
    if membership is None:
        raise NotFound("Member not found.")
    return membership


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def pending_invitations_q(now: datetime | None = None) -> Q:
    return Q(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now or timezone.now())


def invitation_list(*, team: Team, status: str | None = None) -> QuerySet[TeamInvitation]:
    invitations = TeamInvitation.objects.filter(team_id=team.pk).select_related("invited_by", "accepted_by")
    now = timezone.now()
    if status == "pending":
        invitations = invitations.filter(pending_invitations_q(now))
    elif status == "accepted":
        invitations = invitations.filter(accepted_at__isnull=False)
    elif status == "revoked":
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=False)
    elif status == "expired":
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
    return invitations


def invitation_get(*, team: Team, invitation_id: int) -> TeamInvitation:
    invitation = invitation_list(team=team).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound("Invitation not found.")
    return invitation


def shift_list(
    *, team: Team, start: datetime | None = None, end: datetime | None = None, agent_id: int | None = None
) -> QuerySet[ShiftAssignment]:
    """Shifts of the team overlapping ``[start, end)`` (either bound optional)."""
    shifts = ShiftAssignment.objects.filter(team_id=team.pk).select_related("agent")
    if start is not None:
        shifts = shifts.filter(ends_at__gt=start)
    if end is not None:
        shifts = shifts.filter(starts_at__lt=end)
    if agent_id is not None:
        shifts = shifts.filter(agent_id=agent_id)
    return shifts


def shift_get(*, team: Team, shift_id: int) -> ShiftAssignment:
    shift = shift_list(team=team).filter(pk=shift_id).first()
    if shift is None:
        raise NotFound("Shift not found.")
    return shift


def on_call_staff(*, team_id: int) -> QuerySet[User]:
    """Members who may be put on call: staff whose team role lets them work alerts."""
    return team_staff(team_id=team_id, roles=sorted(caps.team_roles_with(caps.ON_CALL_CAPABILITY)))


@dataclass(frozen=True)
class OnCallEntry:
    agent: User
    shifts: list[ShiftAssignment]


def on_call_now(*, team_id: int, at: datetime | None = None) -> list[OnCallEntry]:
    """``on_call_agents`` (the order escalation notifies in) with each agent's covering shifts."""
    moment = at or timezone.now()
    by_agent: dict[int, list[ShiftAssignment]] = {}
    for shift in on_call_shifts(team_id=team_id, at=moment):
        by_agent.setdefault(shift.agent_id, []).append(shift)
    return [
        OnCallEntry(agent=agent, shifts=by_agent.get(agent.pk, []))
        for agent in on_call_agents(team_id=team_id, at=moment)
    ]
