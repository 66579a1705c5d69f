"""Named capabilities mapped to roles, in one place.

A capability is held within a team (through the team role) or everywhere (platform
admins). Views and selectors ask ``user_has_capability(user, CAP, team_id)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.models import TeamRole, UserRole

if TYPE_CHECKING:
    from accounts.models import User

ALERTS_READ = "alerts.read"
ALERTS_MANAGE = "alerts.manage"  # acknowledge, resolve, assign, apply fallbacks
ALERTS_BROADCAST = "alerts.broadcast"
ALERTS_REOPEN = "alerts.reopen"
TEAM_MANAGE = "team.manage"  # members, invitations, shifts, integrations, policies, rules
USERS_MANAGE = "users.manage"  # create agents and admins (platform-wide)
TEAMS_CREATE = "teams.create"  # open a new tenant (platform-wide); the creator becomes its owner
TEAM_OWNERSHIP = "team.ownership"  # grant, change or remove the owner role within a team
AUDIT_READ = "audit.read"
BOOKINGS_MANAGE = "bookings.manage"

ALL_CAPABILITIES = frozenset(
    {
        ALERTS_READ,
        ALERTS_MANAGE,
        ALERTS_BROADCAST,
        ALERTS_REOPEN,
        TEAM_MANAGE,
        USERS_MANAGE,
        TEAMS_CREATE,
        TEAM_OWNERSHIP,
        AUDIT_READ,
        BOOKINGS_MANAGE,
    }
)

TEAM_ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    TeamRole.OWNER: frozenset(
        {
            ALERTS_READ,
            ALERTS_MANAGE,
            ALERTS_BROADCAST,
            ALERTS_REOPEN,
            TEAM_MANAGE,
            TEAM_OWNERSHIP,
            AUDIT_READ,
            BOOKINGS_MANAGE,
        }
    ),
    TeamRole.ADMIN: frozenset(
        {ALERTS_READ, ALERTS_MANAGE, ALERTS_BROADCAST, ALERTS_REOPEN, TEAM_MANAGE, AUDIT_READ, BOOKINGS_MANAGE}
    ),
    TeamRole.AGENT: frozenset({ALERTS_READ, ALERTS_MANAGE, BOOKINGS_MANAGE}),
    TeamRole.VIEWER: frozenset({ALERTS_READ}),
}

# Platform admins hold every capability in every team.
PLATFORM_ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    UserRole.ADMIN: ALL_CAPABILITIES,
    UserRole.AGENT: frozenset(),
    UserRole.CUSTOMER: frozenset(),
}

# Team roles that may manage the team (members, shifts, integrations, policies).
TEAM_MANAGER_ROLES = frozenset(role for role, caps in TEAM_ROLE_CAPABILITIES.items() if TEAM_MANAGE in caps)


def team_roles_with(capability: str) -> frozenset[str]:
    """Team roles that grant ``capability`` (e.g. who may be put on an on-call shift)."""
    return frozenset(role for role, held in TEAM_ROLE_CAPABILITIES.items() if capability in held)


# Who may be scheduled on call: members whose team role lets them work alerts.
ON_CALL_CAPABILITY = ALERTS_MANAGE


def capabilities_for(*, user: User, team_role: str | None) -> frozenset[str]:
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    platform = PLATFORM_ROLE_CAPABILITIES.get(user.role, frozenset())
    in_team = TEAM_ROLE_CAPABILITIES.get(team_role, frozenset()) if team_role else frozenset()
    # Customers never act on a team's alerts, whatever membership row exists.
    if user.role == UserRole.CUSTOMER:
        in_team = frozenset()
    return platform | in_team
