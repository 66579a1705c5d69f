from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Team, TeamRole, User, UserRole
from accounts.tests.factories import ShiftFactory, member
from escalation.tests.factories import new_team


@dataclass
class OnCallTeam:
    team: Team
    first: User  # on duty, priority 1
    second: User  # on duty, priority 2
    admin: User  # team admin, not on duty
    now: datetime


@pytest.fixture
def oncall(db: None) -> OnCallTeam:
    """A team with two agents on duty (in priority order) and a team admin, at ``now``."""
    now = timezone.now()
    team = new_team()
    first = member(team)
    second = member(team)
    admin = member(team, team_role=TeamRole.ADMIN, role=UserRole.ADMIN)
    ShiftFactory(
        team=team, agent=second, priority=2, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)
    )
    ShiftFactory(
        team=team, agent=first, priority=1, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8)
    )
    return OnCallTeam(team=team, first=first, second=second, admin=admin, now=now)
