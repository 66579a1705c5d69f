from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import TeamRole, User, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    """An API client signed in as ``user`` with a real access token (JWT)."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    return make


@pytest.fixture
def platform_admin(db):
    return UserFactory(role=UserRole.ADMIN, email="root@example.com")


@pytest.fixture
def team(db):
    return TeamFactory(name="Alpha Travel", slug="alpha", timezone="Europe/London")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Beta Travel", slug="beta")


@pytest.fixture
def owner(team) -> User:
    return member(team, team_role=TeamRole.OWNER, email="owner@example.com")


@pytest.fixture
def team_admin(team) -> User:
    return member(team, team_role=TeamRole.ADMIN, email="teamadmin@example.com")


@pytest.fixture
def agent(team) -> User:
    return member(team, team_role=TeamRole.AGENT, email="agent@example.com")


@pytest.fixture
def viewer(team) -> User:
    return member(team, team_role=TeamRole.VIEWER, email="viewer@example.com")


@pytest.fixture
def outsider(other_team) -> User:
    """An owner of another team: must learn nothing about ``team``."""
    return member(other_team, team_role=TeamRole.OWNER, email="outsider@example.com")


@pytest.fixture
def customer(db):
    return UserFactory(role=UserRole.CUSTOMER, email="customer@example.com")
