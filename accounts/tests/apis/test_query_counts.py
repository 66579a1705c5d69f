"""List endpoints run a fixed number of queries whatever the page holds (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import invitation_create
from accounts.tests.factories import ShiftFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def grow(team, owner, n):
    for i in range(n):
        agent = member(team)
        ShiftFactory(team=team, agent=agent)  # on call now, so /on-call grows too
        invitation_create(team=team, email=f"guest{i}-{agent.pk}@example.com", role="agent", by=owner)
        UserFactory()


@pytest.mark.parametrize("path", ["/members", "/shifts", "/invitations", "/on-call", "", "USERS", "TEAMS"], ids=str)
def test_list_query_counts_do_not_grow_with_rows(client_for, team, owner, platform_admin, path):
    url = {"USERS": "/api/v1/users", "TEAMS": "/api/v1/teams"}.get(path, f"/api/v1/teams/{team.pk}{path}")
    client = client_for(platform_admin)
    grow(team, owner, 2)
    small = queries_for(client, url)
    grow(team, owner, 6)
    assert queries_for(client, url) == small


def test_me_query_count_does_not_grow_with_teams(client_for, team, other_team, agent):
    client = client_for(agent)
    small = queries_for(client, "/api/v1/me")
    for extra in (other_team, *[type(team).objects.create(name=f"T{i}", slug=f"t{i}") for i in range(4)]):
        member_of = extra.memberships.create(user=agent, role="viewer")
        assert member_of.pk
    assert queries_for(client, "/api/v1/me") == small
