"""WebSocket routes collected from the apps that define ``routing.websocket_urlpatterns``."""

from __future__ import annotations

import importlib
from typing import Any

WEBSOCKET_APPS = ("alerts", "escalation")


def websocket_urlpatterns() -> list[Any]:
    patterns: list[Any] = []
    for app_name in WEBSOCKET_APPS:
        try:
            module = importlib.import_module(f"{app_name}.routing")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_name}.routing":
                raise
            continue
        patterns.extend(module.websocket_urlpatterns)
    return patterns
