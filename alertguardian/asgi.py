"""ASGI entry point: ``alertguardian.asgi:application`` (HTTP and WebSockets).

HTTP goes to ``SyncStackASGIHandler`` (see ``alertguardian.asgi_http`` for why not Django's
own handler). WebSockets authenticate with the session cookie (browsers) or a JWT access token
(``?token=`` or the ``bearer`` subprotocol); see ``alertguardian.ws_auth``.
"""

from __future__ import annotations

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")
django.setup(set_prefix=False)  # what django.core.asgi.get_asgi_application does first

from alertguardian.asgi_http import SyncStackASGIHandler  # noqa: E402  (needs Django set up)

http_application = SyncStackASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from alertguardian.routing import websocket_urlpatterns  # noqa: E402
from alertguardian.ws_auth import JWTAuthMiddleware, browser_origin_validator  # noqa: E402

websocket_application = browser_origin_validator(
    AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns())))
)

application = ProtocolTypeRouter({"http": http_application, "websocket": websocket_application})

# Garbage collection tuned for serving (docs/benchmarks.md, "Ingestion"): a 500-event batch
# allocates hundreds of thousands of objects, so with the default threshold (700) young
# collections ran thousands of times per batch and the full ones walked every object Django
# loaded at start-up. Those are frozen out of the collector's scans, and a young collection
# runs every 10,000 allocations: about 17 % less CPU per batch.
gc.freeze()
gc.set_threshold(10_000, 20, 20)
