from __future__ import annotations

import pytest

from accounts.models import TeamRole
from accounts.tests.factories import TeamFactory, member
from alertguardian.celery import app as celery_app
from fallbacks.engine import forget_served_airports
from fallbacks.tests.helpers import customer_of, load_small_inventory


@pytest.fixture
def inventory(db):
    load_small_inventory()


@pytest.fixture
def team(db):
    return TeamFactory()


@pytest.fixture
def agent(team):
    return member(team, team_role=TeamRole.AGENT)


@pytest.fixture
def customer(team):
    return customer_of(team)


@pytest.fixture
def eager_celery():
    """Run tasks in-process (the receivers' enqueue path is real; the broker is not needed)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_airport_cache():
    """The served-airport list is cached per process; each test loads its own inventory."""
    forget_served_airports()
    yield
    forget_served_airports()
