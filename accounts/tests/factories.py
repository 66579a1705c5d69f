from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.models import ShiftAssignment, Team, TeamMembership, TeamRole, User, UserRole

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = UserRole.AGENT
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamRole.AGENT


class ShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShiftAssignment

    team = factory.SubFactory(TeamFactory)
    agent = factory.SubFactory(UserFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=8))
    priority = 1


def member(team: Team, *, team_role: str = TeamRole.AGENT, role: str = UserRole.AGENT, **kwargs) -> User:
    """A user with a membership in ``team``."""
    user: User = UserFactory(role=role, **kwargs)  # type: ignore[assignment]
    MembershipFactory(team=team, user=user, role=team_role)
    return user
