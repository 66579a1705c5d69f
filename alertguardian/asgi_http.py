"""HTTP over ASGI with each request's middleware, view and signals run in one worker thread.

Why not Django's ``ASGIHandler`` as it is: it loads the middleware in async mode. Our stack
is sync — Django's ``MiddlewareMixin`` middlewares run each hook through ``sync_to_async``,
and a sync-only middleware switches the chain back with ``async_to_sync`` — so a request
crossed between the event loop and a thread about fifteen times, and the per-request
``ThreadSensitiveContext`` started a new thread (and so a new database connection) for every
request. py-spy showed that as most of the 2.5 ms of CPU a do-nothing view cost
(docs/benchmarks.md, "Ingestion").

This handler does what a WSGI server does: the body is read on the event loop; then
``request_started``, the whole (sync) middleware chain, the view and ``request_finished``
run in one call on a fixed pool of ``HTTP_THREADS`` threads; the response is sent from the
loop. A request's database work stays on one thread from start to finish, and each pool
thread keeps its own connection across requests (``CONN_MAX_AGE``), as under WSGI.

What is given up: Django's handler cancels an *async* view when the client disconnects.
There are no async HTTP views here (WebSockets are Channels consumers, routed elsewhere).
A streaming response is collected in the request's thread before it is sent; Django's own
handler does the same for synchronous iterators (``sync_to_async(list)``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import HttpResponse, HttpResponseBase
from django.urls import set_script_prefix


class SyncStackASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware loaded in sync mode and one thread hop."""

    def __init__(self) -> None:
        BaseHandler.__init__(self)  # not ASGIHandler.__init__: it loads the middleware async
        self.load_middleware(is_async=False)
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:  # created on first use: after a fork, in the serving process
            self._executor = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="http")
        return self._executor

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        response = await sync_to_async(self._respond, thread_sensitive=False, executor=self.executor)(scope, body_file)
        await self.send_response(response, send)

    def _respond(self, scope: dict[str, Any], body_file: IO[bytes]) -> HttpResponseBase:
        """Everything Django does for one request, in this thread; returns a closed response."""
        try:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
                response._handler_class = self.__class__  # type: ignore[attr-defined]
            assert response is not None
            if response.streaming:
                response = _collected(response)
            response.close()  # request_finished (close_old_connections) on the request's thread
            return response
        finally:
            body_file.close()


def _collected(streaming: HttpResponseBase) -> HttpResponse:
    """A plain response with the streaming one's status, headers, cookies and whole body."""
    collected = HttpResponse(b"".join(streaming), status=streaming.status_code)
    for header, value in streaming.items():
        collected[header] = value
    collected.cookies = streaming.cookies
    collected._resource_closers = streaming._resource_closers  # type: ignore[attr-defined]  # e.g. the open file
    return collected
