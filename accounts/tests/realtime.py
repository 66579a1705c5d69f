"""Receive live events in tests through the real channel layer (Redis when configured).

The whole exchange runs in one event loop (channels-redis keeps per-loop receive state, so
receiving through separate ``async_to_sync`` calls can return a message twice); the action
runs through ``sync_to_async`` on the test's thread, inside the test's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer


def events_after(action: Callable[[], Any], expect: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Run ``action``; return the ``count`` events each group in ``expect`` then received."""

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        layer = get_channel_layer()
        channels = {}
        for group in expect:
            channels[group] = await layer.new_channel()
            await layer.group_add(group, channels[group])
        await sync_to_async(action)()
        received: dict[str, list[dict[str, Any]]] = {}
        for group, count in expect.items():
            messages = [await asyncio.wait_for(layer.receive(channels[group]), timeout=5) for _ in range(count)]
            assert all(m["type"] == "realtime.event" for m in messages)
            received[group] = [m["event"] for m in messages]
        return received

    return async_to_sync(scenario)()
