"""Group commit of flight-event requests (alerts.services.flight_grouping), on PostgreSQL.

Each test holds one leg's row lock from another connection (``leg_locked``), so the first
request's transaction waits while the next requests queue up behind it; then it lets go.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import OperationalError, connections, transaction

from alerts.flight_contract import parse_flight_events
from alerts.models import FlightEvent, FlightStatus
from alerts.services import flight_grouping
from alerts.services.flight_grouping import FlightEventsGroupCommit
from alerts.services.flights import flight_events_ingest
from alerts.tests.ingest_helpers import ensure_default_rules, flight_event, leg_locked, new_integration
from audit.models import AuditEntry

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


_minutes = iter(range(1, 60))


def events(event_id: str, flight: str) -> list[Any]:
    """One delay event, newer than every event made before it."""
    occurred_at = f"2013-02-08T01:{next(_minutes):02d}:00-05:00"
    event = flight_event(event_id, "delayed", flight_number=flight, delay_minutes=20, occurred_at=occurred_at)
    parsed, _ = parse_flight_events([event])
    return parsed


def leg_key(flight: str) -> str:
    return f"{flight}-2013-02-08-EWR"


class Sender(threading.Thread):
    def __init__(self, group_commit: FlightEventsGroupCommit, integration: Any, batch: list[Any]) -> None:
        super().__init__()
        self.group_commit, self.integration, self.batch = group_commit, integration, batch
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.group_commit.ingest(integration=self.integration, events=self.batch)
        except BaseException as exc:
            self.error = exc
        finally:
            connections["default"].close()


def send(group_commit: FlightEventsGroupCommit, integration: Any, batch: list[Any]) -> Sender:
    sender = Sender(group_commit, integration, batch)
    sender.start()
    return sender


def wait_until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def received_at(event_id: str) -> Any:
    return FlightEvent.objects.get(event_id=event_id).received_at


@pytest.fixture
def integration() -> Any:
    ensure_default_rules()
    integration, _ = new_integration()
    flight_events_ingest(integration=integration, events=events("seed", "UA1"))  # the leg to lock
    return integration


def test_requests_that_wait_share_the_next_transaction_but_never_a_leg(integration):
    group_commit = FlightEventsGroupCommit(max_events=1000)
    with leg_locked(leg_key("UA1")):
        first = send(group_commit, integration, events("a", "UA1"))  # runs at once, waits for the lock
        wait_until(lambda: group_commit._running)
        queued = [
            send(group_commit, integration, events("b", "UA2")),
            send(group_commit, integration, events("c", "UA3")),
            send(group_commit, integration, events("d", "UA2")),  # UA2 again: not with "b"
        ]
        wait_until(lambda: len(group_commit._waiting) == 3)
    for sender in (first, *queued):
        sender.join(timeout=30)
        assert sender.error is None, sender.error
        assert (sender.result.accepted, sender.result.legs_updated, sender.result.duplicates) == (1, 1, 0)
    assert received_at("b") == received_at("c")  # one transaction
    assert len({received_at("a"), received_at("b"), received_at("d")}) == 3
    assert FlightStatus.objects.get(team=integration.team, key=leg_key("UA2")).last_event_at is not None
    entries = AuditEntry.objects.filter(action="flight_events.ingested").order_by("id")
    assert [entry.data["legs"] for entry in entries][1:] == [
        [leg_key("UA1")],
        [leg_key("UA2")],
        [leg_key("UA3")],
        [leg_key("UA2")],
    ]


def test_a_request_that_fails_in_a_group_fails_alone(integration, monkeypatch):
    real = flight_grouping.flight_events_ingest_many

    def failing_on_poison(*, integration: Any, requests: list[list[Any]]) -> Any:
        if any(event.event_id == "poison" for batch in requests for event in batch):
            raise RuntimeError("poison")
        return real(integration=integration, requests=requests)

    monkeypatch.setattr(flight_grouping, "flight_events_ingest_many", failing_on_poison)
    group_commit = FlightEventsGroupCommit(max_events=1000)
    with leg_locked(leg_key("UA1")):
        first = send(group_commit, integration, events("a", "UA1"))
        wait_until(lambda: group_commit._running)
        good_before = send(group_commit, integration, events("b", "UA2"))
        wait_until(lambda: len(group_commit._waiting) == 1)
        poison = send(group_commit, integration, events("poison", "UA3"))
        wait_until(lambda: len(group_commit._waiting) == 2)
        good_after = send(group_commit, integration, events("c", "UA4"))
        wait_until(lambda: len(group_commit._waiting) == 3)
    for sender in (first, good_before, poison, good_after):
        sender.join(timeout=30)
    assert str(poison.error) == "poison"
    for sender in (first, good_before, good_after):
        assert sender.error is None and sender.result.accepted == 1
    assert not FlightEvent.objects.filter(event_id="poison").exists()
    assert FlightEvent.objects.filter(event_id__in=["a", "b", "c"]).count() == 3


def test_a_busy_database_fails_the_whole_group_at_once(integration, monkeypatch):
    calls = []

    def lock_timeout(*, integration: Any, requests: list[list[Any]]) -> Any:
        calls.append(len(requests))
        if len(requests) > 1:
            raise OperationalError("canceling statement due to lock timeout")
        return real(integration=integration, requests=requests)

    real = flight_grouping.flight_events_ingest_many
    monkeypatch.setattr(flight_grouping, "flight_events_ingest_many", lock_timeout)
    group_commit = FlightEventsGroupCommit(max_events=1000)
    with leg_locked(leg_key("UA1")):
        first = send(group_commit, integration, events("a", "UA1"))
        wait_until(lambda: group_commit._running)
        queued = []
        for n, flight in enumerate(("UA2", "UA3")):
            queued.append(send(group_commit, integration, events(f"q{n}", flight)))
            wait_until(lambda n=n: len(group_commit._waiting) == n + 1)
    for sender in (first, *queued):
        sender.join(timeout=30)
    assert first.error is None
    assert [type(sender.error) for sender in queued] == [OperationalError, OperationalError]
    assert calls == [1, 2]  # not retried one by one: each would wait out the lock timeout again


def test_a_group_stops_at_the_event_limit(integration):
    group_commit = FlightEventsGroupCommit(max_events=2)
    with leg_locked(leg_key("UA1")):
        first = send(group_commit, integration, events("a", "UA1"))
        wait_until(lambda: group_commit._running)
        queued = []
        for n, flight in enumerate(("UA2", "UA3", "UA4")):
            queued.append(send(group_commit, integration, events(f"q{n}", flight)))
            wait_until(lambda n=n: len(group_commit._waiting) == n + 1)
    for sender in (first, *queued):
        sender.join(timeout=30)
        assert sender.error is None, sender.error
    assert received_at("q0") == received_at("q1") != received_at("q2")


def test_a_request_bigger_than_a_group_runs_at_once_in_its_own_transaction(integration):
    group_commit = FlightEventsGroupCommit(max_events=1)
    group_commit._running = True  # as if another thread's group were being written
    batch = events("a", "UA2") + events("b", "UA3")
    caller = Sender(group_commit, integration, batch)
    caller.start()
    caller.join(timeout=10)
    assert not caller.is_alive(), "waited for another thread's group"
    assert caller.error is None and caller.result.accepted == 2


def test_a_caller_inside_a_transaction_runs_alone_in_it(integration):
    group_commit = FlightEventsGroupCommit(max_events=1000)
    group_commit._running = True  # as if another thread's group were being written
    done = threading.Event()

    def call() -> None:
        with transaction.atomic():
            result = group_commit.ingest(integration=integration, events=events("a", "UA2"))
            assert result.accepted == 1
            transaction.set_rollback(True)  # the caller's choice, which the events follow
        done.set()
        connections["default"].close()

    caller = threading.Thread(target=call)
    caller.start()
    assert done.wait(timeout=10), "waited for another thread's group"
    caller.join()
    assert not FlightEvent.objects.filter(event_id="a").exists()
