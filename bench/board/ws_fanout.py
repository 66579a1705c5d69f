"""Fan-out latency: N WebSocket clients on one team, time from an acknowledge to every client.

    DEBUG=0 ALLOW_DEV_SECRET=1 FAST_PASSWORD_HASHER=1 DATABASE_URL=postgres://... REDIS_URL=redis://... \\
        .venv/bin/python bench/board/ws_fanout.py --clients 500 --rounds 20

What it does (everything on 127.0.0.1):
1. starts ``daphne`` (``--workers`` processes on consecutive ports; default 1) against the
   given database and channels-redis, unless ``--url`` points at a running server;
2. creates the team "WS Bench" with N agents (one JWT access token each) and connects one
   ``websockets`` client per agent to ``/ws/board/?team=<id>&token=<jwt>``;
3. each round raises an alert through ``alerts.services.alert_raise`` (waits until every
   client has seen ``alert.created``), then acknowledges it over HTTP: the API endpoint
   ``POST /api/v1/alerts/<id>/acknowledge`` when the server has it, else the board's form
   POST ``/board/alerts/<id>/acknowledge/`` (session + CSRF), and records when each client
   receives ``alert.acknowledged``;
4. prints percentiles over all clients and rounds of (receive time - request start),
   (receive time - response returned) and (receive time - first client's receive time,
   i.e. the fan-out alone). A receive can precede the response: the event is published
   at commit, before the view has returned.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")

import django  # noqa: E402

django.setup()

import websockets  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import Team, TeamMembership, TeamRole, User, UserRole  # noqa: E402
from alerts.services import alert_raise  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_servers(count: int) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    processes, urls = [], []
    for index in range(count):
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"ws-fanout-daphne-{index}.log"
        print(f"daphne on port {port}, log {log}")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "alertguardian.asgi:application"],
                cwd=ROOT,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/board/login/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    return processes, urls


def setup_team(clients: int) -> tuple[Team, list[User]]:
    team, _ = Team.objects.get_or_create(name="WS Bench", defaults={"slug": "ws-bench"})
    existing = list(User.objects.filter(email__startswith="ws-bench-").order_by("id"))
    missing = [
        User(email=f"ws-bench-{n}@bench.example", role=UserRole.AGENT, password="!")
        for n in range(len(existing), clients)
    ]
    User.objects.bulk_create(missing)
    users = list(User.objects.filter(email__startswith="ws-bench-").order_by("id")[:clients])
    TeamMembership.objects.bulk_create(
        [TeamMembership(team=team, user=user, role=TeamRole.AGENT) for user in users], ignore_conflicts=True
    )
    return team, users


def session_for(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return str(session.session_key)


def http_post(url: str, headers: dict[str, str], body: bytes = b"") -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class Client:
    def __init__(self, index: int, url: str) -> None:
        self.index = index
        self.url = url
        self.waiters: dict[tuple[str, int], asyncio.Future[float]] = {}
        self.seen: dict[tuple[str, int], float] = {}  # events that arrived before anyone waited
        self.ws: websockets.ClientConnection | None = None

    def expect(self, event_type: str, alert_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        key = (event_type, alert_id)
        if key in self.seen:
            future.set_result(self.seen.pop(key))
        else:
            self.waiters[key] = future
        return future

    async def run(self, ready: asyncio.Event) -> None:
        async with websockets.connect(self.url, max_queue=None, open_timeout=60) as ws:
            self.ws = ws
            ready.set()
            async for raw in ws:
                received = time.perf_counter()
                event = json.loads(raw)
                key = (event.get("type"), event.get("alert", {}).get("id"))
                future = self.waiters.pop(key, None)  # type: ignore[arg-type]
                if future is None:
                    self.seen[key] = received  # type: ignore[index]
                elif not future.done():
                    future.set_result(received)


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"{name}: n={len(ordered)} p50={statistics.median(ordered):.1f} ms p95={percentile(ordered, 0.95):.1f} ms "
        f"p99={percentile(ordered, 0.99):.1f} ms max={ordered[-1]:.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="daphne processes (clients are spread over them)")
    parser.add_argument("--url", default="", help="use this running server instead of starting daphne")
    args = parser.parse_args()
    assert settings.REDIS_URL, "REDIS_URL must be set: the server and this script share channels-redis"

    processes: list[subprocess.Popen[bytes]] = []
    urls = [args.url] if args.url else []
    if not urls:
        processes, urls = await asyncio.to_thread(start_servers, args.workers)
    try:
        team, users = await asyncio.to_thread(setup_team, args.clients)
        layer = get_channel_layer()
        if not args.url and hasattr(layer, "connection"):
            # channels_redis.core keeps groups in Redis: members left by killed servers of
            # earlier runs would each get a copy of every event.
            await layer.connection(0).delete(f"{layer.prefix}:group:team.{team.pk}")
        acker = users[0]
        tokens = [str(AccessToken.for_user(user)) for user in users]
        clients = [
            Client(n, f"{urls[n % len(urls)].replace('http', 'ws', 1)}/ws/board/?team={team.pk}&token={token}")
            for n, token in enumerate(tokens)
        ]
        start = time.perf_counter()
        tasks, readies = [], []
        for batch_start in range(0, len(clients), 50):  # connect in batches of 50
            batch = []
            for client in clients[batch_start : batch_start + 50]:
                ready = asyncio.Event()
                readies.append(ready)
                tasks.append(asyncio.create_task(client.run(ready)))
                batch.append(ready.wait())
            await asyncio.wait_for(asyncio.gather(*batch), timeout=120)
        print(f"{len(clients)} clients connected to {len(urls)} server(s) in {time.perf_counter() - start:.1f} s")

        # Which acknowledge endpoint does this server have?
        session_key = await asyncio.to_thread(session_for, acker)
        csrf = secrets.token_hex(16)  # an unmasked 32-character secret, same in cookie and header
        board_headers = {
            "Cookie": f"sessionid={session_key}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Accept": "application/json",
        }
        api_headers = {"Authorization": f"Bearer {tokens[0]}", "Content-Type": "application/json"}
        probe = await asyncio.to_thread(http_post, f"{urls[0]}/api/v1/alerts/0/acknowledge", api_headers, b"{}")
        via_api = probe != 404
        print(
            f"acknowledge via {'API POST /api/v1/alerts/<id>/acknowledge' if via_api else 'board form POST /board/alerts/<id>/acknowledge/'}"
        )

        from_request: list[float] = []
        from_response: list[float] = []
        from_first: list[float] = []
        for round_number in range(args.rounds):
            created_futures: list[asyncio.Future[float]] = []
            # Raise, and wait until every client saw it (so the ack round starts clean).
            result = await asyncio.to_thread(
                alert_raise,
                team=team,
                type="flight_cancelled",
                severity="critical",
                title=f"Bench round {round_number}",
                dedup_key=f"bench:{time.time_ns()}",
            )
            alert_id = result.alert.pk
            created_futures = [c.expect("alert.created", alert_id) for c in clients]
            acked_futures = [c.expect("alert.acknowledged", alert_id) for c in clients]
            await asyncio.wait_for(asyncio.gather(*created_futures), timeout=30)
            await asyncio.sleep(0.05)
            t_request = time.perf_counter()
            if via_api:
                status = await asyncio.to_thread(
                    http_post, f"{urls[0]}/api/v1/alerts/{alert_id}/acknowledge", api_headers, b"{}"
                )
            else:
                status = await asyncio.to_thread(
                    http_post, f"{urls[0]}/board/alerts/{alert_id}/acknowledge/", board_headers
                )
            t_response = time.perf_counter()
            assert status == 200, f"acknowledge returned {status}"
            received = await asyncio.wait_for(asyncio.gather(*acked_futures), timeout=30)
            from_request += [(t - t_request) * 1000 for t in received]
            from_response += [(t - t_response) * 1000 for t in received]
            from_first += [(t - min(received)) * 1000 for t in received]
            print(
                f"round {round_number + 1:>2}: request {1000 * (t_response - t_request):6.1f} ms, "
                f"first client +{1000 * (min(received) - t_request):6.1f} ms, "
                f"last client +{1000 * (max(received) - t_request):6.1f} ms after request start"
            )
        print(summary("from request start", from_request))
        print(summary("from response returned", from_response))
        print(summary("fan-out spread (from the first client to each)", from_first))
        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; layer {type(layer).__name__}")
        await asyncio.gather(*(c.ws.close() for c in clients if c.ws is not None), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
