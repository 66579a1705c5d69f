"""HTTP through the real ASGI application (``alertguardian.asgi``), as a server calls it."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from channels.testing import HttpCommunicator
from django.core import signals
from django.core.handlers.asgi import ASGIHandler

from alertguardian.asgi import application
from alertguardian.asgi_http import SyncStackASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


async def _request(method: str, path: str, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    communicator = HttpCommunicator(
        application, method, path, body=body, headers=[(b"host", b"testserver"), *(headers or [])]
    )
    return await communicator.get_response(timeout=10)


async def test_a_view_answers_through_the_asgi_application():
    response = await _request("GET", "/health/")
    assert response["status"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


async def test_signals_middleware_and_view_of_a_request_run_on_one_pool_thread():
    seen: list[tuple[str, str]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.current_thread().name))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.current_thread().name))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        response = await _request("GET", "/api/v1/alerts")  # DRF view behind the whole middleware stack
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert response["status"] == 401
    assert json.loads(response["body"])["code"] == "not_authenticated"
    assert [event for event, _ in seen] == ["started", "finished"]
    thread_names = {name for _, name in seen}
    assert len(thread_names) == 1
    assert thread_names.pop().startswith("http")  # the handler's pool, not the event loop's thread


async def test_a_body_over_the_limit_is_refused_with_the_standard_413(settings):
    settings.MAX_REQUEST_BODY_BYTES = 100
    body = b"[" + b"0," * 100 + b"0]"
    response = await _request("POST", "/api/v1/alerts", body=body, headers=[(b"content-type", b"application/json")])
    assert response["status"] == 413
    assert json.loads(response["body"])["code"] == "payload_too_large"


async def test_a_streamed_static_file_arrives_whole_with_its_headers():
    response = await _request("GET", "/static/alerts/board.js")
    assert response["status"] == 200
    headers = {name.lower(): value for name, value in response["headers"]}
    assert headers[b"content-type"].startswith(b"text/javascript")
    assert int(headers[b"content-length"]) == len(response["body"]) > 0


def test_the_middleware_chain_is_sync_where_djangos_own_handler_is_async():
    assert not iscoroutinefunction(SyncStackASGIHandler()._middleware_chain)
    assert iscoroutinefunction(ASGIHandler()._middleware_chain)  # the hops this handler avoids
