from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is append-only (no add, change or delete from the console)."""

    list_display = ["id", "created_at", "actor_label", "action", "target_type", "target_id", "team_id"]
    list_filter = ["action", "target_type"]
    search_fields = ["action", "actor_label", "target_id"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
