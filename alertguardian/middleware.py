"""Refuse oversized bodies before any view parses them (413 with the standard body)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from alertguardian.api import error_json_response

# Paths with a tighter limit than MAX_REQUEST_BODY_BYTES (PagerDuty refuses bodies over 512 KB).
PATH_BODY_LIMITS: dict[str, int] = {"/v2/enqueue": 512 * 1024, "/api/v1/integrations/pagerduty/v2/enqueue": 512 * 1024}


def body_limit_for(path: str) -> int:
    for prefix, limit in PATH_BODY_LIMITS.items():
        if path.startswith(prefix):
            return limit
    return int(settings.MAX_REQUEST_BODY_BYTES)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit_for(request.path)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_json_response(400, "malformed_request", "Content-Length is not a number.")
        if declared > limit:
            return self._too_large(limit)
        if request.method in {"POST", "PUT", "PATCH"} and not request.META.get("CONTENT_LENGTH"):
            # No declared length (chunked): read it now, bounded by DATA_UPLOAD_MAX_MEMORY_SIZE.
            try:
                body = request.body
            except RequestDataTooBig:
                return self._too_large(limit)
            if len(body) > limit:
                return self._too_large(limit)
        return self.get_response(request)

    @staticmethod
    def _too_large(limit: int) -> HttpResponse:
        return error_json_response(
            413, "payload_too_large", f"The request body is larger than {limit} bytes.", {"max_bytes": limit}
        )
