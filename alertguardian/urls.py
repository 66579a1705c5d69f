from __future__ import annotations

import importlib

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alertguardian import health
from alertguardian.api import json_404

# Each module below is included when it exists. Under /api/v1/:
API_URL_MODULES = (
    "accounts.urls",
    "audit.urls",
    "alerts.urls",  # alert lifecycle API
    "alerts.integration_urls",  # integrations and ingestion endpoints
    "alerts.ops_urls",  # alert rules, SLA policies, ops settings, summaries
    "escalation.urls",
    "fallbacks.urls",
)
# At the root: the board pages and endpoints whose paths are fixed by outside tools (/v2/enqueue).
ROOT_URL_MODULES = ("alerts.page_urls", "alerts.root_urls", "fallbacks.page_urls")


def _app_urls(module_name: str) -> list[tuple[list[URLPattern | URLResolver], str | None, str | None]]:
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return []
    return [include(module_name)]  # type: ignore[list-item]


urlpatterns: list[URLPattern | URLResolver] = [
    path("health/", health.health, name="health"),
    path("ready/", health.ready, name="ready"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
for _module in API_URL_MODULES:
    urlpatterns += [path("api/v1/", included) for included in _app_urls(_module)]
for _module in ROOT_URL_MODULES:
    urlpatterns += [path("", included) for included in _app_urls(_module)]

# Unknown API paths answer with the JSON error body even with DEBUG on (handler404 only applies without it).
urlpatterns += [re_path(r"^(api|v2)/", json_404)]

handler404 = "alertguardian.api.json_404"
handler500 = "alertguardian.api.json_500"
