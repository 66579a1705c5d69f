"""WebSocket consumers: the board (``team.<id>``), an alert's page (``alert.<id>``) and the
personal channel (``user.<id>``). They only forward what services publish after commit
(``alertguardian.realtime``); they never write.

Authentication is done by ``alertguardian.ws_auth`` (session or JWT). Every refusal is
an accepted-then-closed socket so the client sees the close code: 4401 not authenticated,
4403 not allowed on that team, 4404 no such alert (or another team's), 4400 bad request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import capabilities as caps
from accounts.models import User
from accounts.selectors import user_has_capability
from alertguardian.api import NotFound
from alertguardian.realtime import CONSUMER_MESSAGE_TYPE, alert_group, team_group, user_group
from alertguardian.ws_auth import CLOSE_BAD_REQUEST, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from alerts.selectors import alert_get_for_user, alert_unread_count

UNREAD_COUNT_EVENT = "unread.count"
# Events on the personal channel after which the unread count is sent again.
UNREAD_REFRESH_EVENTS = frozenset({"notification.created"})


def unread_count_event(count: int) -> dict[str, Any]:
    return {"type": UNREAD_COUNT_EVENT, "version": 1, "count": count}


class Refused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """Authenticate, authorize (``groups_for``), join the groups, then forward events."""

    joined: list[str]

    async def connect(self) -> None:
        self.joined = []
        subprotocol = self.scope.get("auth_subprotocol")
        user = self.scope.get("user")
        try:
            if user is None or not user.is_authenticated:
                raise Refused(CLOSE_UNAUTHENTICATED)
            groups = await self.groups_for(user)
        except Refused as refused:
            # Accept first: a close before the handshake completes reaches the client as a
            # bare failure (1006), without the code that says why.
            await self.accept(subprotocol=subprotocol)
            await self.close(code=refused.code)
            return
        # Join before accepting, so nothing published after the client is told "open" is missed.
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
            self.joined.append(group)
        await self.accept(subprotocol=subprotocol)
        await self.on_open(user)

    async def groups_for(self, user: User) -> list[str]:
        raise NotImplementedError

    async def on_open(self, user: User) -> None:
        """Hook: send an initial state after the socket is open."""

    async def disconnect(self, code: int) -> None:
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = []

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The only client message: a keep-alive for proxies that drop idle sockets.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs close_old_connections() in the sync thread before every message.
        # Forwarding an event needs no database, and with hundreds of sockets that hop,
        # serialized through one thread, was most of the fan-out time (see docs/benchmarks.md).
        if message.get("type") == CONSUMER_MESSAGE_TYPE:
            await self.realtime_event(message)
            return
        await super().dispatch(message)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        """``publish_on_commit`` messages: forward the event as JSON text."""
        await self.send_json(message["event"])

    def query_param(self, name: str) -> str | None:
        values = parse_qs((self.scope.get("query_string") or b"").decode("latin1")).get(name)
        return values[0] if values else None


class BoardConsumer(RealtimeConsumer):
    """``/ws/board/?team=<id>``: every alert event of one team."""

    async def groups_for(self, user: User) -> list[str]:
        raw = self.query_param("team") or ""
        if not raw.isdigit():
            raise Refused(CLOSE_BAD_REQUEST)
        team_id = int(raw)
        # A team that does not exist and one the user is not in look the same (no probing).
        allowed = await database_sync_to_async(user_has_capability)(
            user=user, capability=caps.ALERTS_READ, team_id=team_id
        )
        if not allowed:
            raise Refused(CLOSE_FORBIDDEN)
        self.team_id = team_id
        return [team_group(team_id)]


class AlertConsumer(RealtimeConsumer):
    """``/ws/alerts/<id>/``: events of one alert (its page); another team's alert is 4404."""

    async def groups_for(self, user: User) -> list[str]:
        alert_id = int(self.scope["url_route"]["kwargs"]["alert_id"])
        try:
            await database_sync_to_async(alert_get_for_user)(user=user, alert_id=alert_id)
        except NotFound as exc:
            raise Refused(CLOSE_NOT_FOUND) from exc
        return [alert_group(alert_id)]


class NotificationConsumer(RealtimeConsumer):
    """``/ws/notifications/``: the user's own events, starting with their unread alert count."""

    async def groups_for(self, user: User) -> list[str]:
        self.user = user
        return [user_group(user.pk)]

    async def on_open(self, user: User) -> None:
        await self.send_unread_count()

    async def send_unread_count(self) -> None:
        count = await database_sync_to_async(alert_unread_count)(user=self.user)
        await self.send_json(unread_count_event(count))

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await super().realtime_event(message)
        if message["event"].get("type") in UNREAD_REFRESH_EVENTS:
            await self.send_unread_count()
