from __future__ import annotations

import threading

import pytest

from accounts.exceptions import LastPlatformAdmin
from accounts.models import UserRole
from accounts.services import user_create, user_register, user_update
from accounts.tests.factories import UserFactory
from accounts.tests.services.test_auth import run_concurrently
from alertguardian.api import InvalidInput


@pytest.mark.django_db
def test_user_create_without_password_is_unusable(platform_admin):
    user = user_create(by=platform_admin, email="sso@example.com", password=None, role=UserRole.AGENT)
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_register_refuses_a_password_like_the_email():
    with pytest.raises(InvalidInput) as excinfo:
        user_register(email="jonathan.smithers@example.com", password="jonathan.smithers")
    assert "password" in excinfo.value.details


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_concurrently_leave_one_admin():
    first = UserFactory(role=UserRole.ADMIN)
    second = UserFactory(role=UserRole.ADMIN)
    # Each steps down; the platform-admin check holds for both until one commits.
    targets = iter([(first, first), (second, second)])
    lock = threading.Lock()

    def demote():
        with lock:
            user, by = next(targets)
        return user_update(user=user, by=by, role=UserRole.AGENT)

    results = run_concurrently(2, demote)
    assert sum(isinstance(r, LastPlatformAdmin) for r in results) == 1
    assert sum(1 for u in (first, second) if type(u).objects.get(pk=u.pk).role == UserRole.ADMIN) == 1
