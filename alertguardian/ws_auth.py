"""WebSocket authentication: the Django session for browsers, a JWT access token for API clients.

The stack (see ``alertguardian.asgi``) is::

    BrowserOriginValidator(AuthMiddlewareStack(JWTAuthMiddleware(URLRouter(...))))

- Browsers send their session cookie; ``AuthMiddlewareStack`` resolves ``scope["user"]``.
- API clients present an access token either as the ``?token=<jwt>`` query parameter or as
  the subprotocol pair ``Sec-WebSocket-Protocol: bearer, <jwt>`` (browsers cannot set an
  ``Authorization`` header on a WebSocket). A presented token wins over the session; an
  invalid or expired one leaves the socket anonymous (the consumer closes it with 4401),
  it never falls back to a cookie. ``scope["auth_subprotocol"]`` is ``"bearer"`` when the
  subprotocol form was used: consumers must echo it on accept or the client aborts.
- Cross-site WebSocket hijacking rides on the ambient cookie of a browser, and browsers
  always send ``Origin``: a present Origin must match ``ALLOWED_HOSTS``; a client without
  one (a script with a token) is let through.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator, OriginValidator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

BEARER_SUBPROTOCOL = "bearer"

# Close codes used by every consumer (4000-4999 are free for applications, RFC 6455 §7.4.2).
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def token_from_scope(scope: dict[str, Any]) -> tuple[str | None, str | None]:
    """The presented JWT and the subprotocol to echo (``"bearer"`` or ``None``)."""
    subprotocols = [str(p) for p in scope.get("subprotocols") or []]
    if BEARER_SUBPROTOCOL in subprotocols:
        index = subprotocols.index(BEARER_SUBPROTOCOL)
        if index + 1 < len(subprotocols):
            return subprotocols[index + 1], BEARER_SUBPROTOCOL
        return "", BEARER_SUBPROTOCOL
    query = parse_qs((scope.get("query_string") or b"").decode("latin1"))
    values = query.get("token")
    if values:
        return values[0], None
    return None, None


@database_sync_to_async
def user_for_access_token(raw_token: str) -> Any:
    """The active user an access token names, or ``AnonymousUser`` for anything invalid."""
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.settings import api_settings
    from rest_framework_simplejwt.tokens import AccessToken

    if not raw_token:
        return AnonymousUser()
    try:
        token = AccessToken(raw_token)  # type: ignore[arg-type]  # simplejwt accepts str
    except TokenError:
        return AnonymousUser()
    user_id = token.get(api_settings.USER_ID_CLAIM)
    if user_id is None:
        return AnonymousUser()
    user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}, is_active=True).first()
    return user or AnonymousUser()


class JWTAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from a JWT access token when the client presents one."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw_token, subprotocol = token_from_scope(scope)
        scope = dict(scope)
        scope["auth_subprotocol"] = subprotocol
        if raw_token is not None:
            scope["user"] = await user_for_access_token(raw_token)
            scope["auth_method"] = "jwt"
        else:
            scope.setdefault("user", AnonymousUser())
            scope["auth_method"] = "session"
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Like ``AllowedHostsOriginValidator``, but a handshake without ``Origin`` (no browser,
    so no ambient cookie to abuse) is allowed; a present Origin must be an allowed host."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))


def browser_origin_validator(application: Any) -> BrowserOriginValidator:
    # Reuse the allowed-origins list AllowedHostsOriginValidator derives from ALLOWED_HOSTS (and DEBUG).
    derived = AllowedHostsOriginValidator(application)
    return BrowserOriginValidator(application, derived.allowed_origins)
