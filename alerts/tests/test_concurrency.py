"""Races on one alert, for real: threads, each with its own PostgreSQL connection, through the API.

The lifecycle services lock the alert row (``SELECT … FOR UPDATE``) before checking the
transition, so of N concurrent acknowledges exactly one wins and the others get 409 with
the state the winner left; the timeline and the audit log agree with the responses.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from accounts.tests.factories import TeamFactory, member
from alerts.models import Alert, AlertEvent, AlertStatus
from alerts.services import alert_raise
from alerts.tests.helpers import api
from audit.models import AuditEntry
from audit.services import audit_chain_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def race(calls: list[tuple[object, str, dict]]) -> list[tuple[str, int, dict]]:
    """POST every (user, url, body) at once, one thread each; returns (url, status, body)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, int, dict]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(user, url, body):
        try:
            client = api(user)
            barrier.wait(timeout=30)
            response = client.post(url, body, format="json")
            with lock:
                results.append((url, response.status_code, response.json()))
        except BaseException as exc:  # surfaced below: a thread must not fail silently
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == len(calls)
    return results


@pytest.fixture
def scene():
    team = TeamFactory()
    agents = [member(team) for _ in range(THREADS)]
    alert = alert_raise(team=team, type="flight_cancelled", severity="critical", title="UA1 cancelled").alert
    return alert, agents


def test_concurrent_acknowledges_exactly_one_wins(scene):
    alert, agents = scene
    results = race([(agent, f"/api/v1/alerts/{alert.pk}/acknowledge", {}) for agent in agents])

    statuses = Counter(status for _, status, _ in results)
    assert statuses == {200: 1, 409: THREADS - 1}
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    for _, status, body in results:
        if status == 409:
            assert body["code"] == "alert_state_conflict"
            assert body["details"]["status"] == "acknowledged"
            assert body["details"]["acknowledged_by"] == alert.acknowledged_by_id
    assert AlertEvent.objects.filter(alert=alert, kind="acknowledged").count() == 1
    entries = AuditEntry.objects.filter(action="alert.acknowledged", target_id=str(alert.pk))
    assert list(entries.values_list("actor_id", flat=True)) == [alert.acknowledged_by_id]
    assert audit_chain_verify()[1] is None


def test_concurrent_resolves_exactly_one_wins(scene):
    alert, agents = scene
    results = race([(agent, f"/api/v1/alerts/{alert.pk}/resolve", {"note": agent.email}) for agent in agents])

    assert Counter(status for _, status, _ in results) == {200: 1, 409: THREADS - 1}
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    # The winner's note is the one stored, and it is the winner who is recorded.
    assert alert.resolution_note == alert.resolved_by.email
    assert all(body["details"]["status"] == "resolved" for _, status, body in results if status == 409)
    assert AlertEvent.objects.filter(alert=alert, kind="resolved").count() == 1
    assert AuditEntry.objects.filter(action="alert.resolved", target_id=str(alert.pk)).count() == 1
    assert audit_chain_verify()[1] is None


def test_mixed_acknowledge_and_resolve_race_stays_consistent(scene):
    alert, agents = scene
    calls = [
        (agent, f"/api/v1/alerts/{alert.pk}/{'acknowledge' if index % 2 else 'resolve'}", {})
        for index, agent in enumerate(agents)
    ]
    results = race(calls)

    wins = Counter(url.rsplit("/", 1)[1] for url, status, _ in results if status == 200)
    assert all(status in {200, 409} for _, status, _ in results)
    # Exactly one resolve wins; an acknowledge can only win if it got in before it.
    assert wins["resolve"] == 1
    assert wins["acknowledge"] <= 1
    kinds = list(AlertEvent.objects.filter(alert=alert).order_by("id").values_list("kind", flat=True))
    assert kinds == ["triggered", *(["acknowledged"] * wins["acknowledge"]), "resolved"]
    audited = Counter(
        AuditEntry.objects.filter(target_id=str(alert.pk), target_type="alerts.alert").values_list("action", flat=True)
    )
    assert audited == {
        "alert.raised": 1,
        "alert.resolved": 1,
        **({"alert.acknowledged": 1} if wins["acknowledge"] else {}),
    }
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.RESOLVED
    assert audit_chain_verify()[1] is None
