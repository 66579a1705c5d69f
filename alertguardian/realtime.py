"""The one way to send live events: ``publish_on_commit(group, event)``.

Groups: ``team.<id>`` (board), ``user.<id>`` (personal notifications), ``alert.<id>``
(detail page). Events are sent only after the surrounding transaction commits, so a
rolled-back change never reaches a browser. Consumers receive ``{"type": "realtime.event",
"event": {...}}`` and forward ``event`` to the socket as JSON.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import transaction

logger = logging.getLogger(__name__)

CONSUMER_MESSAGE_TYPE = "realtime.event"


def team_group(team_id: int) -> str:
    return f"team.{team_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def alert_group(alert_id: int) -> str:
    return f"alert.{alert_id}"


PUBLISH_TIMEOUT_SECONDS = 5.0


class _PublisherLoop:
    """One event loop per process, in a daemon thread, that every sync publish runs on.

    ``async_to_sync`` outside an event loop (Celery workers, management commands) starts a
    new loop per call, and channels-redis then opens a new connection for it: ~3-10 ms per
    live event. Here the loop and the layer's connections live as long as the process.
    Re-created after a fork (Celery's prefork children inherit no threads).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop()).result(PUBLISH_TIMEOUT_SECONDS)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                self._loop = asyncio.new_event_loop()
                self._pid = os.getpid()
                threading.Thread(target=self._loop.run_forever, name="realtime-publisher", daemon=True).start()
            return self._loop


_publisher = _PublisherLoop()


def publish_now(group: str, event: dict[str, Any]) -> None:
    """Send immediately. Only for callers already outside a transaction; prefer publish_on_commit."""
    publish_many_now([(group, event)])


def publish_many_now(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send ``(group, event)`` pairs concurrently and wait once (a batch of engine steps sends
    hundreds: one round trip to Redis instead of one per event)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return

    async def send_all() -> None:
        wrapped = [(group, {"type": CONSUMER_MESSAGE_TYPE, "event": event}) for group, event in messages]
        if len(wrapped) > 1 and isinstance(layer, RedisPubSubChannelLayer):
            await _publish_pipelined(layer, wrapped)
            return
        results = await asyncio.gather(
            *(layer.group_send(group, message) for group, message in wrapped), return_exceptions=True
        )
        for (group, _message), result in zip(wrapped, results, strict=True):
            if isinstance(result, BaseException):
                logger.error("realtime publish to %s failed", group, exc_info=result)

    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Its queues belong to the server's own loop, which async_to_sync reaches from a
            # request thread; it is embedded mode only (one process), so cost is no concern.
            async_to_sync(send_all)()
        else:
            _publisher.run(send_all())
    except Exception:  # a live update is best-effort; the database already holds the truth
        logger.exception("realtime publish of %d events failed", len(messages))


async def _publish_pipelined(layer: RedisPubSubChannelLayer, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """``group_send`` of many messages as one pipeline of PUBLISH per Redis shard.

    channels-redis's pub/sub layer publishes under a per-shard lock, one round trip at a
    time (~0.2 ms of CPU each); an escalation batch sends hundreds. This uses the layer's
    own group channel names, shards, serializer and connection (channels-redis 4.3, pinned
    in requirements.txt), so subscribers see exactly what ``group_send`` would have sent.
    """
    loop_layer = layer._get_layer()
    by_shard: dict[int, list[tuple[str, bytes]]] = {}
    for group, message in messages:
        channel = loop_layer._get_group_channel_name(group)
        shard = loop_layer._get_shard(channel)
        by_shard.setdefault(id(shard), []).append((channel, layer.serialize(message)))
    shards = {id(shard): shard for shard in loop_layer._shards}
    for shard_id, publishes in by_shard.items():
        shard = shards[shard_id]
        try:
            async with shard._lock:
                shard._ensure_redis()
                pipe = shard._redis.pipeline(transaction=False)
                for channel, payload in publishes:
                    pipe.publish(channel, payload)
                await pipe.execute()
        except Exception:  # best-effort, like every live event
            logger.exception("realtime publish of %d events failed", len(publishes))


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    """Queue ``event`` for ``group``; it is sent when the current transaction commits."""
    transaction.on_commit(lambda: publish_now(group, event))


def publish_many_on_commit(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Queue ``(group, event)`` pairs, sent together when the current transaction commits."""
    if messages:
        transaction.on_commit(lambda: publish_many_now(messages))
