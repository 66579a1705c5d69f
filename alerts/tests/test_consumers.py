"""WebSocket consumers through the real ASGI stack (origin check, session/JWT auth, routing).

Events come from real service calls in committed transactions (``transaction=True``), so
``publish_on_commit`` really fires after commit, and never for a rolled-back change.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, UserFactory, member
from alertguardian.asgi import websocket_application
from alertguardian.realtime import publish_many_now, publish_on_commit, user_group
from alerts.models import AlertStatus, AlertUserState
from alerts.services import (
    alert_acknowledge,
    alert_assign,
    alert_note_add,
    alert_raise,
    alert_reopen,
    alert_resolve,
    alert_unacknowledge,
)
from alerts.services.user_state import alert_mark_read
from alerts.tests.event_schemas import assert_event_valid
from alerts.tests.factories import AlertFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://testserver")
PROJECT_CHANNEL_LAYERS = copy.deepcopy(django_settings.CHANNEL_LAYERS)  # before any test overrides it


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    # A fresh layer per test (channels resets its backends when the setting changes).
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    # database_sync_to_async runs in a worker thread whose connection outlives the test
    # (CONN_MAX_AGE); close it so the test database can be flushed and dropped.
    await database_sync_to_async(connections.close_all)()


# --- helpers (sync, called through database_sync_to_async) ------------------------------------


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def raise_alert(team, key="flight:UA1-2013-02-08-EWR:cancelled", severity="high"):
    return alert_raise(
        team=team, type="flight_cancelled", severity=severity, title="UA1 cancelled", dedup_key=key
    ).alert


def setup_team():
    team = TeamFactory()
    agent = member(team)
    return team, agent


async def board_socket(path: str, *, cookie: bytes | None = None, subprotocols=None, origin=True):
    headers = [ORIGIN] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(websocket_application, path, headers=headers, subprotocols=subprotocols)
    return communicator


async def connect_ok(communicator) -> str | None:
    connected, subprotocol = await communicator.connect()
    assert connected
    return subprotocol


async def assert_closed_with(communicator, code: int) -> None:
    connected, _ = await communicator.connect()
    assert connected  # accepted, then closed: the client gets the reason
    message = await communicator.receive_output(timeout=1)
    assert message == {"type": "websocket.close", "code": code, "reason": None} or (
        message["type"] == "websocket.close" and message["code"] == code
    )


# --- authentication -----------------------------------------------------------------------------


async def test_board_socket_with_session_receives_team_events():
    team, agent = await database_sync_to_async(setup_team)()
    cookie = await database_sync_to_async(session_cookie)(agent)
    ws = await board_socket(f"/ws/board/?team={team.pk}", cookie=cookie)
    await connect_ok(ws)
    alert = await database_sync_to_async(raise_alert)(team)
    event = await ws.receive_json_from(timeout=2)
    assert_event_valid(event)
    assert event["type"] == "alert.created"
    assert event["alert"]["id"] == alert.pk
    await ws.disconnect()


async def test_board_socket_with_jwt_in_query_string():
    team, agent = await database_sync_to_async(setup_team)()
    token = str(AccessToken.for_user(agent))
    ws = await board_socket(f"/ws/board/?team={team.pk}&token={token}", origin=False)
    assert await connect_ok(ws) is None
    await database_sync_to_async(raise_alert)(team)
    assert (await ws.receive_json_from(timeout=2))["type"] == "alert.created"
    await ws.disconnect()


async def test_board_socket_with_jwt_subprotocol_echoes_bearer():
    team, agent = await database_sync_to_async(setup_team)()
    token = str(AccessToken.for_user(agent))
    ws = await board_socket(f"/ws/board/?team={team.pk}", subprotocols=["bearer", token], origin=False)
    assert await connect_ok(ws) == "bearer"
    await database_sync_to_async(raise_alert)(team)
    assert (await ws.receive_json_from(timeout=2))["type"] == "alert.created"
    await ws.disconnect()


@pytest.mark.parametrize(
    "credential", ["none", "garbage", "expired", "refresh", "inactive", "subprotocol_without_token"]
)
async def test_unauthenticated_socket_is_closed_with_4401(credential):
    team, agent = await database_sync_to_async(setup_team)()
    subprotocols = None
    query = f"team={team.pk}"
    if credential == "garbage":
        query += "&token=not-a-jwt"
    elif credential == "expired":
        token = AccessToken.for_user(agent)
        token.set_exp(lifetime=-timedelta(minutes=1))
        query += f"&token={token}"
    elif credential == "refresh":  # a refresh token is not an access token
        query += f"&token={await database_sync_to_async(RefreshToken.for_user)(agent)}"
    elif credential == "inactive":
        agent.is_active = False
        await database_sync_to_async(agent.save)(update_fields=["is_active"])
        query += f"&token={AccessToken.for_user(agent)}"
    elif credential == "subprotocol_without_token":
        subprotocols = ["bearer"]
    ws = await board_socket(f"/ws/board/?{query}", subprotocols=subprotocols)
    await assert_closed_with(ws, 4401)


async def test_an_invalid_token_does_not_fall_back_to_the_session_cookie():
    team, agent = await database_sync_to_async(setup_team)()
    cookie = await database_sync_to_async(session_cookie)(agent)
    ws = await board_socket(f"/ws/board/?team={team.pk}&token=forged", cookie=cookie)
    await assert_closed_with(ws, 4401)


async def test_non_member_is_closed_with_4403_and_a_missing_team_with_4400():
    team, _agent = await database_sync_to_async(setup_team)()
    outsider = await database_sync_to_async(member)(await database_sync_to_async(TeamFactory)())
    cookie = await database_sync_to_async(session_cookie)(outsider)
    await assert_closed_with(await board_socket(f"/ws/board/?team={team.pk}", cookie=cookie), 4403)
    await assert_closed_with(await board_socket("/ws/board/?team=999999", cookie=cookie), 4403)
    await assert_closed_with(await board_socket("/ws/board/", cookie=cookie), 4400)


async def test_customer_with_a_membership_row_is_still_refused():
    team, _agent = await database_sync_to_async(setup_team)()
    customer = await database_sync_to_async(member)(team, role=UserRole.CUSTOMER)
    cookie = await database_sync_to_async(session_cookie)(customer)
    await assert_closed_with(await board_socket(f"/ws/board/?team={team.pk}", cookie=cookie), 4403)


async def test_viewer_may_watch_the_board():
    team, _agent = await database_sync_to_async(setup_team)()
    viewer = await database_sync_to_async(member)(team, team_role=TeamRole.VIEWER)
    ws = await board_socket(f"/ws/board/?team={team.pk}&token={AccessToken.for_user(viewer)}")
    await connect_ok(ws)
    await ws.disconnect()


async def test_cross_site_origin_is_rejected_before_the_handshake():
    team, agent = await database_sync_to_async(setup_team)()
    cookie = await database_sync_to_async(session_cookie)(agent)
    ws = WebsocketCommunicator(
        websocket_application,
        f"/ws/board/?team={team.pk}",
        headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)],
    )
    connected, _ = await ws.connect()
    assert not connected


# --- isolation, schema, rollback ----------------------------------------------------------------


async def test_team_b_events_never_reach_a_team_a_socket():
    team_a, agent_a = await database_sync_to_async(setup_team)()
    team_b, agent_b = await database_sync_to_async(setup_team)()
    ws_a = await board_socket(f"/ws/board/?team={team_a.pk}&token={AccessToken.for_user(agent_a)}")
    ws_b = await board_socket(f"/ws/board/?team={team_b.pk}&token={AccessToken.for_user(agent_b)}")
    await connect_ok(ws_a)
    await connect_ok(ws_b)
    alert_b = await database_sync_to_async(raise_alert)(team_b)
    await database_sync_to_async(alert_acknowledge)(alert_id=alert_b.pk, by=agent_b)
    assert [(await ws_b.receive_json_from(timeout=2))["type"] for _ in range(2)] == [
        "alert.created",
        "alert.acknowledged",
    ]
    assert await ws_a.receive_nothing(timeout=0.3)
    # The A socket is alive and does get its own team's events.
    await database_sync_to_async(raise_alert)(team_a)
    assert (await ws_a.receive_json_from(timeout=2))["alert"]["team_id"] == team_a.pk
    await ws_a.disconnect()
    await ws_b.disconnect()


def run_every_alert_action(team, agent, other):
    first = raise_alert(team, severity="medium")
    raise_alert(team, severity="critical")  # folds into the open alert: alert.updated
    alert_acknowledge(alert_id=first.pk, by=agent, note="looking")
    alert_unacknowledge(alert_id=first.pk, by=agent)
    alert_assign(alert_id=first.pk, by=agent, assignee=other)
    alert_note_add(alert_id=first.pk, by=agent, note="called the hotel")
    alert_resolve(alert_id=first.pk, by=agent, note="rebooked")
    alert_reopen(alert_id=first.pk, by=agent)
    return first


async def test_every_alert_event_from_a_service_call_matches_its_schema():
    team, agent = await database_sync_to_async(setup_team)()
    other = await database_sync_to_async(member)(team)
    ws = await board_socket(f"/ws/board/?team={team.pk}&token={AccessToken.for_user(agent)}")
    await connect_ok(ws)
    alert = await database_sync_to_async(run_every_alert_action)(team, agent, other)
    events = [await ws.receive_json_from(timeout=2) for _ in range(8)]
    for event in events:
        assert_event_valid(event)
        assert event["alert"]["id"] == alert.pk
    assert [e["type"] for e in events] == [
        "alert.created",
        "alert.updated",
        "alert.acknowledged",
        "alert.unacknowledged",
        "alert.assigned",
        "alert.updated",
        "alert.resolved",
        "alert.reopened",
    ]
    assert events[1]["data"] == {"severity_raised": True}
    assert events[1]["alert"]["severity"] == "critical"
    assert events[4]["alert"]["assignee_id"] == other.pk
    assert "note_id" in events[5]["data"]
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


class LaterStepFailed(Exception):
    pass


def acknowledge_then_roll_back(alert_id, agent):
    try:
        with transaction.atomic():
            alert_acknowledge(alert_id=alert_id, by=agent)
            raise LaterStepFailed("something after the acknowledge failed")
    except LaterStepFailed:
        return
    raise AssertionError("the transaction should have failed")


async def test_a_rolled_back_change_is_never_sent():
    team, agent = await database_sync_to_async(setup_team)()
    alert = await database_sync_to_async(AlertFactory)(team=team)
    ws = await board_socket(f"/ws/board/?team={team.pk}&token={AccessToken.for_user(agent)}")
    await connect_ok(ws)
    await database_sync_to_async(acknowledge_then_roll_back)(alert.pk, agent)
    assert await ws.receive_nothing(timeout=0.3)
    await database_sync_to_async(alert.refresh_from_db)()
    assert alert.status == AlertStatus.TRIGGERED
    # The same action committed does arrive (the socket was listening all along).
    await database_sync_to_async(alert_acknowledge)(alert_id=alert.pk, by=agent)
    event = await ws.receive_json_from(timeout=2)
    assert (event["type"], event["alert"]["status"]) == ("alert.acknowledged", "acknowledged")
    await ws.disconnect()


# --- the alert page and the personal channel ------------------------------------------------------


async def test_alert_socket_gets_only_that_alerts_events_and_other_teams_alerts_are_4404():
    team, agent = await database_sync_to_async(setup_team)()
    watched = await database_sync_to_async(AlertFactory)(team=team)
    other = await database_sync_to_async(AlertFactory)(team=team)
    foreign = await database_sync_to_async(AlertFactory)()
    token = AccessToken.for_user(agent)
    ws = await board_socket(f"/ws/alerts/{watched.pk}/?token={token}")
    await connect_ok(ws)
    await database_sync_to_async(alert_acknowledge)(alert_id=other.pk, by=agent)
    await database_sync_to_async(alert_acknowledge)(alert_id=watched.pk, by=agent)
    event = await ws.receive_json_from(timeout=2)
    assert_event_valid(event)
    assert event["alert"]["id"] == watched.pk
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()
    await assert_closed_with(await board_socket(f"/ws/alerts/{foreign.pk}/?token={token}"), 4404)


def unread_fixture():
    team, agent = setup_team()
    unread = [AlertFactory(team=team), AlertFactory(team=team, status=AlertStatus.ACKNOWLEDGED)]
    read = AlertFactory(team=team)
    AlertUserState.objects.create(alert=read, user=agent, read_at=read.created_at)
    dismissed = AlertFactory(team=team)
    AlertUserState.objects.create(alert=dismissed, user=agent, dismissed_at=dismissed.created_at)
    AlertFactory(team=team, status=AlertStatus.RESOLVED)  # closed: not counted
    AlertFactory()  # another team: not visible
    return team, agent, unread


async def test_notifications_socket_sends_unread_count_on_connect_and_after_changes():
    _team, agent, unread = await database_sync_to_async(unread_fixture)()
    cookie = await database_sync_to_async(session_cookie)(agent)
    ws = await board_socket("/ws/notifications/", cookie=cookie)
    await connect_ok(ws)
    first = await ws.receive_json_from(timeout=2)
    assert_event_valid(first)
    assert first == {"type": "unread.count", "version": 1, "count": 2}

    await database_sync_to_async(alert_mark_read)(alert=unread[0], user=agent)
    count_event = await ws.receive_json_from(timeout=2)
    assert_event_valid(count_event)
    assert count_event == {"type": "unread.count", "version": 1, "count": 1}

    # Reading again changes nothing and sends nothing.
    await database_sync_to_async(alert_mark_read)(alert=unread[0], user=agent)
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


def publish_to_user(user_id, event):
    with transaction.atomic():
        publish_on_commit(user_group(user_id), event)


async def test_notifications_socket_forwards_personal_events_only():
    _team, agent = await database_sync_to_async(setup_team)()
    someone_else = await database_sync_to_async(UserFactory)()
    ws = await board_socket(f"/ws/notifications/?token={AccessToken.for_user(agent)}")
    await connect_ok(ws)
    assert (await ws.receive_json_from(timeout=2))["type"] == "unread.count"
    notification = {"type": "notification.created", "version": 1, "notification": {"id": 1}}
    await database_sync_to_async(publish_to_user)(someone_else.pk, notification)
    assert await ws.receive_nothing(timeout=0.2)
    await database_sync_to_async(publish_to_user)(agent.pk, notification)
    assert await ws.receive_json_from(timeout=2) == notification
    assert (await ws.receive_json_from(timeout=2))["type"] == "unread.count"
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from(timeout=2) == {"type": "pong"}
    await ws.disconnect()


async def test_notifications_socket_refuses_anonymous():
    await assert_closed_with(await board_socket("/ws/notifications/"), 4401)


# --- across processes: channels-redis ------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize(
    "backend", ["channels_redis.pubsub.RedisPubSubChannelLayer", "channels_redis.core.RedisChannelLayer"]
)
async def test_events_travel_over_channels_redis(settings, backend):
    # The project's Redis host options (socket timeout, pool size), a private prefix.
    hosts = PROJECT_CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts") or [settings.REDIS_URL]
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": backend, "CONFIG": {"hosts": hosts, "prefix": f"test-board-{uuid.uuid4().hex[:8]}"}}
    }
    team_a, agent_a = await database_sync_to_async(setup_team)()
    team_b, agent_b = await database_sync_to_async(setup_team)()
    ws_a = await board_socket(f"/ws/board/?team={team_a.pk}&token={AccessToken.for_user(agent_a)}")
    ws_b = await board_socket(f"/ws/board/?team={team_b.pk}&token={AccessToken.for_user(agent_b)}")
    await connect_ok(ws_a)
    await connect_ok(ws_b)
    alert = await database_sync_to_async(raise_alert)(team_a)
    await database_sync_to_async(alert_acknowledge)(alert_id=alert.pk, by=agent_a)
    events = [await ws_a.receive_json_from(timeout=3) for _ in range(2)]
    for event in events:
        assert_event_valid(event)
    assert [e["type"] for e in events] == ["alert.created", "alert.acknowledged"]
    assert await ws_b.receive_nothing(timeout=0.3)
    await ws_a.disconnect()
    await ws_b.disconnect()


@pytest.mark.redis
async def test_a_batch_of_events_is_published_in_order_to_the_groups_listened_to(settings):
    """``publish_many_now`` pipelines PUBLISH on the pub/sub layer: same channels, same order."""
    hosts = PROJECT_CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts") or [settings.REDIS_URL]
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": hosts, "prefix": f"test-batch-{uuid.uuid4().hex[:8]}"},
        }
    }
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for group in ("team.1", "user.2"):
        await layer.group_add(group, channel)
        await subscribed(layer, channel, group)

    batch = [("team.1", {"n": 1}), ("alert.3", {"n": 2}), ("user.2", {"n": 3}), ("team.1", {"n": 4})]
    await sync_to_async(publish_many_now, thread_sensitive=False)(batch)

    received: list[int] = []
    while len(received) < 3:
        message = await asyncio.wait_for(layer.receive(channel), 3)
        if message["type"] != "probe":  # a late echo of the subscription check
            received.append(message["event"]["n"])
    assert received == [1, 3, 4]
    await layer.group_discard("team.1", channel)
    await layer.group_discard("user.2", channel)


async def subscribed(layer, channel, group):
    """Wait until ``channel`` receives what is published to ``group`` (pub/sub subscriptions
    take effect asynchronously): publish a probe until one arrives."""
    for _ in range(100):
        await layer.group_send(group, {"type": "probe"})
        try:
            if (await asyncio.wait_for(layer.receive(channel), 0.05))["type"] == "probe":
                return
        except TimeoutError:
            continue
    raise AssertionError(f"never subscribed to {group}")
