from __future__ import annotations

import threading

import pytest

from accounts.exceptions import LastOwner
from accounts.models import TeamMembership, TeamRole
from accounts.services import membership_add, membership_remove, membership_role_change, team_create
from accounts.tests.factories import UserFactory, member
from accounts.tests.realtime import events_after
from accounts.tests.services.test_auth import run_concurrently
from alertguardian.realtime import team_group, user_group
from audit.services import AuditActor

pytestmark = pytest.mark.django_db


def test_membership_changes_are_published_to_the_team_and_the_user(team, owner, django_capture_on_commit_callbacks):
    newcomer = UserFactory()

    def add():
        with django_capture_on_commit_callbacks(execute=True):
            membership_add(team=team, user=newcomer, role=TeamRole.VIEWER, by=owner)

    def remove():
        with django_capture_on_commit_callbacks(execute=True):
            membership_remove(membership=TeamMembership.objects.get(user=newcomer), by=owner)

    groups = {team_group(team.pk): 1, user_group(newcomer.pk): 1}
    added = events_after(add, groups)
    expected = {
        "type": "team.membership",
        "action": "added",
        "team_id": team.pk,
        "user_id": newcomer.pk,
        "role": "viewer",
    }
    assert added == {team_group(team.pk): [expected], user_group(newcomer.pk): [expected]}
    removed = events_after(remove, {team_group(team.pk): 1})
    assert removed[team_group(team.pk)][0]["action"] == "removed"


def test_nothing_is_published_when_the_change_fails(team, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(LastOwner):
        membership_remove(membership=TeamMembership.objects.get(user=owner), by=owner)
    assert callbacks == []


def test_seed_actor_may_grant_ownership_and_team_has_unique_slug(team):
    actor = AuditActor(label="seed_demo")
    created = team_create(name="Alpha Travel 2", by=actor)
    assert created.slug == "alpha-travel-2"
    again = team_create(name="Alpha-Travel 2!", by=actor)
    assert again.slug == "alpha-travel-2-2"
    membership = membership_add(team=created, user=UserFactory(), role=TeamRole.OWNER, by=actor)
    assert membership.role == TeamRole.OWNER


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_stepping_down_concurrently_leave_one_owner(team):
    first = member(team, team_role=TeamRole.OWNER)
    second = member(team, team_role=TeamRole.OWNER)
    pairs = iter([(TeamMembership.objects.get(user=first), first), (TeamMembership.objects.get(user=second), second)])
    lock = threading.Lock()

    def demote():
        with lock:
            membership, by = next(pairs)
        return membership_role_change(membership=membership, role=TeamRole.ADMIN, by=by)

    results = run_concurrently(2, demote)
    assert sum(isinstance(r, LastOwner) for r in results) == 1, results
    assert TeamMembership.objects.filter(team=team, role=TeamRole.OWNER).count() == 1
