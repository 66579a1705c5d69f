"""Group commit for flight-event requests served by one process.

A request with one event spends most of its time on the fixed cost of a transaction: about
eight round trips (lock timeout, legs, events, leg update, audit chain lock and head, audit
entry, commit) whatever the number of events (docs/benchmarks.md, "Ingestion"). So requests that arrive while a
transaction is running wait for it to finish, then the next one takes all of them together
(``flight_events_ingest_many``): under load the transactions grow and their number per
event falls; alone, a request runs at once and waits for nobody.

What keeps a grouped request's outcome the one it would have had alone:

- only requests of the same integration are grouped, and never two that touch the same
  leg (the second waits for the next transaction), so each leg's change and what detection
  makes of it come from one request;
- each request gets its own counts and its own audit entry;
- if a group fails, each of its requests is run again alone, so a request fails only for
  its own reasons; but when the database is busy or gone (lock timeout, deadlock, lost
  connection) every request of the group gets that error at once (503, retry later), rather
  than meeting it again one by one;
- a caller already inside a transaction runs alone in it: its events must commit or roll
  back with the caller's work, not with strangers'.

A request with more events than ``FLIGHT_EVENTS_GROUP_MAX_EVENTS`` is a batch already: it
runs at once in its own transaction, in parallel with the others (waiting behind another
batch's transaction would only serialize them), and groups stop growing at that size.

One group's transaction runs at a time per process (batches run beside it); the server's
processes run theirs in parallel.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass, field

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from alerts.flight_contract import FlightEventIn
from alerts.models import Integration
from alerts.services.flights import IngestResult, flight_events_ingest_many

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Request:
    integration: Integration
    events: list[FlightEventIn]
    legs: frozenset[str] = field(init=False)
    result: IngestResult | None = None
    error: BaseException | None = None
    done: bool = False
    wake: threading.Event = field(default_factory=threading.Event)  # written, or handed the lead

    def __post_init__(self) -> None:
        self.legs = frozenset(event.leg_key for event in self.events)


class FlightEventsGroupCommit:
    """One leading thread at a time takes the waiting requests in groups and writes them;
    every other request's thread sleeps until its group is written (or it is handed the
    lead), so each waiting thread wakes once."""

    def __init__(self, max_events: int) -> None:
        self.max_events = max_events
        self._lock = threading.Lock()
        self._waiting: deque[_Request] = deque()
        self._running = False  # a thread is leading

    def ingest(self, *, integration: Integration, events: list[FlightEventIn]) -> IngestResult:
        if connection.in_atomic_block or len(events) > self.max_events:
            return flight_events_ingest_many(integration=integration, requests=[events])[0]
        request = _Request(integration=integration, events=events)
        with self._lock:
            self._waiting.append(request)
            leading, self._running = not self._running, True
        if not leading:
            request.wake.wait()
        if not request.done:
            self._lead_until_written(request)
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _lead_until_written(self, request: _Request) -> None:
        """Write groups, oldest first, until ``request``'s is written; then hand the lead on
        to the oldest waiting request (whose transaction could not start while we led)."""
        try:
            while not request.done:
                with self._lock:
                    group = self._take_group()
                _run(group)
        finally:
            with self._lock:
                if self._waiting:
                    self._waiting[0].wake.set()
                else:
                    self._running = False

    def _take_group(self) -> list[_Request]:
        """The oldest waiting request, and the later ones that can join it (oldest first)."""
        first = self._waiting.popleft()
        group, legs, size = [first], set(first.legs), len(first.events)
        for candidate in list(self._waiting):
            if size + len(candidate.events) > self.max_events:
                break
            if candidate.integration.pk != first.integration.pk or not legs.isdisjoint(candidate.legs):
                continue
            self._waiting.remove(candidate)
            group.append(candidate)
            legs |= candidate.legs
            size += len(candidate.events)
        return group


def _run(group: list[_Request]) -> None:
    try:
        results = flight_events_ingest_many(
            integration=group[0].integration, requests=[request.events for request in group]
        )
    except (OperationalError, InterfaceError) as exc:  # busy or gone: each would meet it again
        for request in group:
            request.error = exc
    except Exception as exc:
        if len(group) == 1:
            group[0].error = exc
        else:
            logger.warning("a group of %d flight-event requests failed (%s); running each alone", len(group), exc)
            for request in group:
                _run([request])
    else:
        for request, result in zip(group, results, strict=True):
            request.result = result
    finally:
        for request in group:
            if request.result is None and request.error is None:  # interrupted (not an Exception)
                request.error = RuntimeError("the group commit was interrupted")
            request.done = True
            request.wake.set()


_group_commit = FlightEventsGroupCommit(max_events=settings.FLIGHT_EVENTS_GROUP_MAX_EVENTS)


def flight_events_ingest_grouped(*, integration: Integration, events: list[FlightEventIn]) -> IngestResult:
    """``flight_events_ingest`` through this process's group commit (see the module docstring)."""
    return _group_commit.ingest(integration=integration, events=events)
