"""Listen to channel-layer groups from a synchronous test, with any layer.

channels-redis' pub/sub layer (the production default) keeps its subscriptions per event
loop, so subscribing and receiving must share one loop: this helper runs a private loop
in a thread for the whole capture, while the test publishes from its own thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from channels.layers import get_channel_layer


@contextmanager
def captured_groups(*groups: str, settle: float = 0.3) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Collect the ``event`` of every realtime message sent to ``groups`` inside the block.

    Messages are drained when the block exits; ``settle`` is how long to wait for stragglers.
    """
    layer = get_channel_layer()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="live-capture", daemon=True)
    thread.start()
    received: dict[str, list[dict[str, Any]]] = {group: [] for group in groups}

    async def subscribe() -> dict[str, str]:
        channels = {}
        for group in groups:
            channels[group] = await layer.new_channel()
            await layer.group_add(group, channels[group])
        return channels

    async def drain(channels: dict[str, str]) -> None:
        for group, channel in channels.items():
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=settle)
                except TimeoutError:
                    break
                received[group].append(message["event"])
            await layer.group_discard(group, channel)

    channels = asyncio.run_coroutine_threadsafe(subscribe(), loop).result(timeout=10)
    try:
        yield received
    finally:
        asyncio.run_coroutine_threadsafe(drain(channels), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
