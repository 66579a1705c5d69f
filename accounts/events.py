"""Live events about teams: membership and on-call changes (sent after commit).

The board and the personal channel listen on ``team.<id>`` and ``user.<id>``; payloads are
small and carry ids so a client re-fetches what it shows.
"""

from __future__ import annotations

from typing import Any

from accounts.models import ShiftAssignment, TeamMembership
from alertguardian.realtime import publish_on_commit, team_group, user_group


def membership_event(*, action: str, membership: TeamMembership) -> dict[str, Any]:
    return {
        "type": "team.membership",
        "action": action,  # added | role_changed | removed
        "team_id": membership.team_id,
        "user_id": membership.user_id,
        "role": membership.role,
    }


def shift_event(*, action: str, shift: ShiftAssignment) -> dict[str, Any]:
    return {
        "type": "team.on_call",
        "action": action,  # shift_created | shift_updated | shift_deleted
        "team_id": shift.team_id,
        "shift_id": shift.pk,
        "agent_id": shift.agent_id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "priority": shift.priority,
    }


def publish_membership_event(*, action: str, membership: TeamMembership) -> None:
    event = membership_event(action=action, membership=membership)
    publish_on_commit(team_group(membership.team_id), event)
    publish_on_commit(user_group(membership.user_id), event)


def publish_shift_event(*, action: str, shift: ShiftAssignment) -> None:
    publish_on_commit(team_group(shift.team_id), shift_event(action=action, shift=shift))
