"""Reads about users, teams and on-call that also authorize."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts import capabilities as caps
from accounts.models import ShiftAssignment, Team, TeamMembership, User, UserRole
from alertguardian.api import NotFound


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
