from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import capabilities as caps
from accounts import selectors
from accounts.models import TeamRole, UserRole
from accounts.tests.factories import ShiftFactory, UserFactory, member
from alertguardian.api import Forbidden, NotFound

pytestmark = pytest.mark.django_db


def test_team_access_404_for_strangers_403_for_readers_without_the_capability(
    team, viewer, owner, outsider, platform_admin
):
    assert selectors.team_access(user=viewer, team_id=team.pk) == team
    with pytest.raises(Forbidden):
        selectors.team_access(user=viewer, team_id=team.pk, capability=caps.TEAM_MANAGE)
    with pytest.raises(NotFound):
        selectors.team_access(user=outsider, team_id=team.pk, capability=caps.TEAM_MANAGE)
    with pytest.raises(NotFound):
        selectors.team_access(user=outsider, team_id=team.pk)
    assert selectors.team_access(user=owner, team_id=team.pk, capability=caps.TEAM_OWNERSHIP) == team
    assert selectors.team_access(user=platform_admin, team_id=team.pk, capability=caps.TEAM_OWNERSHIP) == team
    with pytest.raises(NotFound):
        selectors.team_access(user=platform_admin, team_id=999999)


def test_customers_with_a_membership_row_still_cannot_read_the_team(team):
    customer = member(team, team_role=TeamRole.OWNER, role=UserRole.CUSTOMER)
    with pytest.raises(NotFound):
        selectors.team_access(user=customer, team_id=team.pk)
    assert list(selectors.team_list_for_user(user=customer)) == []


def test_team_list_annotates_my_role(team, other_team, agent, platform_admin):
    member(other_team, team_role=TeamRole.ADMIN, role=UserRole.ADMIN, email="both@example.com")
    assert [(t.pk, t.my_role) for t in selectors.team_list_for_user(user=agent)] == [(team.pk, TeamRole.AGENT)]
    assert {t.pk for t in selectors.team_list_for_user(user=platform_admin)} == {team.pk, other_team.pk}


def test_user_selectors_need_users_manage(agent, platform_admin):
    with pytest.raises(Forbidden):
        selectors.user_list(actor=agent)
    with pytest.raises(Forbidden):
        selectors.user_get(actor=agent, user_id=platform_admin.pk)
    assert selectors.user_get(actor=platform_admin, user_id=agent.pk) == agent


def test_user_team_grants_carry_capabilities(team, owner):
    [grant] = selectors.user_team_grants(user=owner)
    assert grant.team == team and grant.role == TeamRole.OWNER
    assert grant.capabilities == caps.TEAM_ROLE_CAPABILITIES[TeamRole.OWNER]


def test_on_call_staff_excludes_viewers_customers_and_inactive(team, agent, viewer, owner, team_admin):
    inactive = member(team, is_active=False)
    member(team, role=UserRole.CUSTOMER)
    eligible = set(selectors.on_call_staff(team_id=team.pk))
    assert eligible == {agent, owner, team_admin}
    assert viewer not in eligible and inactive not in eligible


def test_on_call_now_keeps_on_call_agents_order_and_lists_windows(team):
    now = timezone.now()
    first = member(team)
    second = member(team)
    a = ShiftFactory(
        team=team, agent=second, starts_at=now - timedelta(hours=3), ends_at=now + timedelta(hours=1), priority=2
    )
    b = ShiftFactory(
        team=team, agent=first, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1), priority=1
    )
    c = ShiftFactory(
        team=team, agent=second, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=4), priority=3
    )
    entries = selectors.on_call_now(team_id=team.pk, at=now)
    assert [e.agent for e in entries] == selectors.on_call_agents(team_id=team.pk, at=now) == [first, second]
    assert entries[0].shifts == [b]
    assert entries[1].shifts == [a, c]


def test_shift_list_overlap_bounds(team, agent):
    now = timezone.now()
    shift = ShiftFactory(team=team, agent=agent, starts_at=now, ends_at=now + timedelta(hours=2))
    assert list(selectors.shift_list(team=team, start=now + timedelta(hours=2))) == []
    assert list(selectors.shift_list(team=team, end=now)) == []
    assert list(selectors.shift_list(team=team, start=now + timedelta(hours=1), end=now + timedelta(hours=3))) == [
        shift
    ]


def test_user_find_by_id_or_email_case_insensitively():
    user = UserFactory(email="found@example.com")
    assert selectors.user_find(email="FOUND@example.com") == user
    assert selectors.user_find(user_id=user.pk) == user
    assert selectors.user_find() is None
