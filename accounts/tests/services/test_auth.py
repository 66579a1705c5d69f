from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.exceptions import InvalidToken
from accounts.services import auth_token_refresh
from accounts.tests.factories import UserFactory
from alertguardian.api import ApplicationError


def run_concurrently(count, target):
    """Run ``target`` in ``count`` threads released together; collect results or errors."""
    barrier = threading.Barrier(count)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # collected and asserted by the caller
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_only_one_wins():
    refresh = str(RefreshToken.for_user(UserFactory()))
    results = run_concurrently(4, lambda: auth_token_refresh(refresh=refresh))
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert len(losers) == 3 and all(isinstance(r, InvalidToken) for r in losers), losers


@pytest.mark.django_db
def test_refresh_errors_are_application_errors():
    with pytest.raises(ApplicationError) as excinfo:
        auth_token_refresh(refresh="x.y.z")
    assert excinfo.value.status_code == 401
