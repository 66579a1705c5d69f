"""Short-lived per-process memos of small tables that hot paths read and people rarely edit.

Every ingest request used to look up its integration token, and every flight-event
transaction its team's detection rules and event rules: three queries that cost about a
third of a single event's CPU (docs/benchmarks.md, "Ingestion"). A ``ProcessMemo`` keeps
what it loaded for ``seconds`` (setting ``CONFIG_CACHE_SECONDS``, default 1).

How fresh a read is:

- an edit made in this process (admin, API, service) clears the memo at once and again at
  commit, through the model signals connected by ``clear_on_change``;
- an edit made in another process is seen there within ``seconds`` (a revoked or rotated
  token too: like an API gateway's key cache, revocation is not instant everywhere);
- ``seconds`` = 0 turns memoizing off (every read goes to the database).

A load that started before a clear is not kept (it may have read the old rows). One gap:
a transaction that edits a row, reads it through the memo and then rolls back leaves what
it read for up to ``seconds`` (Django has no rollback hook); no service does that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

_all_memos: list[ProcessMemo[Any]] = []


class ProcessMemo(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[Hashable, tuple[float, T]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        _all_memos.append(self)

    def get(self, key: Hashable, load: Callable[[], T], keep_if: Callable[[T], bool] | None = None) -> T:
        """The value memoized for ``key``, or ``load()``'s (kept unless ``keep_if`` says no)."""
        seconds = settings.CONFIG_CACHE_SECONDS
        if seconds <= 0:
            return load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        value = load()
        if keep_if is not None and not keep_if(value):
            return value
        with self._lock:
            if generation == self._generation:
                self._entries[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def clear_on_change(self, *models: type[Model]) -> None:
        """Clear when a row of ``models`` is saved or deleted here: now (so the writing
        transaction reads its own change) and at commit (so no reader keeps, for
        ``seconds``, what it read between the write and the commit)."""

        def on_change(**_: Any) -> None:
            self.clear()
            transaction.on_commit(self.clear)

        for model in models:
            uid = f"memo:{self.name}:{model._meta.label_lower}"
            post_save.connect(on_change, sender=model, weak=False, dispatch_uid=uid)
            post_delete.connect(on_change, sender=model, weak=False, dispatch_uid=uid)


def clear_all_memos() -> None:
    """Forget everything memoized (tests: rows of a rolled-back test must not leak)."""
    for memo in _all_memos:
        memo.clear()
