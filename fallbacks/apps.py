from __future__ import annotations

from django.apps import AppConfig


class FallbacksConfig(AppConfig):
    name = "fallbacks"
