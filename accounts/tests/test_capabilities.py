from __future__ import annotations

import pytest

from accounts import capabilities as caps
from accounts.models import TeamRole, UserRole
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_platform_only_capabilities_are_not_held_through_teams():
    for held in caps.TEAM_ROLE_CAPABILITIES.values():
        assert caps.USERS_MANAGE not in held
        assert caps.TEAMS_CREATE not in held


def test_only_owners_hold_team_ownership():
    assert caps.team_roles_with(caps.TEAM_OWNERSHIP) == {TeamRole.OWNER}
    assert caps.team_roles_with(caps.ON_CALL_CAPABILITY) == {TeamRole.OWNER, TeamRole.ADMIN, TeamRole.AGENT}


def test_capabilities_for_roles():
    admin = UserFactory(role=UserRole.ADMIN)
    assert caps.capabilities_for(user=admin, team_role=None) == caps.ALL_CAPABILITIES
    customer = UserFactory(role=UserRole.CUSTOMER)
    assert caps.capabilities_for(user=customer, team_role=TeamRole.OWNER) == frozenset()
    inactive = UserFactory(is_active=False)
    assert caps.capabilities_for(user=inactive, team_role=TeamRole.OWNER) == frozenset()
