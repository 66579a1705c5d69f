from __future__ import annotations

import importlib

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from alertguardian import health

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
ROOT_URL_MODULES = ("alerts.page_urls", "alerts.root_urls")


def _app_urls(module_name: str) -> list[object]:
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return []
    return [include(module_name)]


urlpatterns = [
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

handler404 = "alertguardian.api.json_404"
handler500 = "alertguardian.api.json_500"
