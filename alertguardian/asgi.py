"""ASGI entry point: ``alertguardian.asgi:application`` (HTTP and WebSockets).

WebSockets authenticate with the session cookie (browsers) or a JWT access token
(``?token=`` or the ``bearer`` subprotocol); see ``alertguardian.ws_auth``.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from alertguardian.routing import websocket_urlpatterns  # noqa: E402
from alertguardian.ws_auth import JWTAuthMiddleware, browser_origin_validator  # noqa: E402

websocket_application = browser_origin_validator(
    AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns())))
)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
