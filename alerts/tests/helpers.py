"""Test helpers for the alert API: clients, a cast of users in two teams, event capture."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from rest_framework.test import APIClient

from accounts.models import Team, TeamRole, User, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from alertguardian import realtime
from alerts.hooks import BOOKING_RESOLVERS, BookingRef, register_booking_resolver


def api(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@dataclass
class Cast:
    team: Team
    other_team: Team
    owner: User
    team_admin: User
    agent: User
    viewer: User
    other_agent: User
    customer: User
    platform_admin: User


def make_cast():  # -> Cast (untyped: factories are typed as themselves)
    team, other_team = TeamFactory(), TeamFactory()
    return Cast(
        team=team,
        other_team=other_team,
        owner=member(team, team_role=TeamRole.OWNER),
        team_admin=member(team, team_role=TeamRole.ADMIN),
        agent=member(team, team_role=TeamRole.AGENT),
        viewer=member(team, team_role=TeamRole.VIEWER),
        other_agent=member(other_team, team_role=TeamRole.AGENT),
        customer=UserFactory(role=UserRole.CUSTOMER),
        platform_admin=UserFactory(role=UserRole.ADMIN),
    )


@contextmanager
def published_events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Record every live event (group, event) while still sending it through the real layer."""
    sent: list[tuple[str, dict[str, Any]]] = []
    real = realtime.publish_many_now

    def spy(messages: list[tuple[str, dict[str, Any]]]) -> None:
        sent.extend(messages)
        real(messages)

    # Every publish, one or many, ends in publish_many_now.
    with mock.patch.object(realtime, "publish_many_now", spy):
        yield sent


@contextmanager
def booking_resolver(bookings: dict[tuple[int, str], BookingRef]) -> Iterator[Callable[[User, str], Any]]:
    """Register, through the public registry, a resolver answering ``(customer_id, typed) → BookingRef``."""

    def resolve(user: User, typed: str) -> BookingRef | None:
        return bookings.get((user.pk, typed))

    register_booking_resolver(resolve)
    try:
        yield resolve
    finally:
        BOOKING_RESOLVERS.remove(resolve)
