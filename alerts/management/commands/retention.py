"""``python manage.py retention [--dry-run]``: remove (or list) data past its retention."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.ops.retention import RETENTION_TARGETS, retention_run
from audit.services import AuditActor


class Command(BaseCommand):
    help = "Remove resolved/expired alerts (and other registered targets) older than each team's retention days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only report what would be removed.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = retention_run(dry_run=options["dry_run"], actor=AuditActor(label="manage.py retention"))
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": report.dry_run,
                        "at": report.at.isoformat(),
                        "targets": report.targets,
                        "errors": report.errors,
                    }
                )
            )
            return
        verb = "would remove" if report.dry_run else "removed"
        for name in RETENTION_TARGETS:
            counts = report.targets.get(name, {})
            detail = ", ".join(f"{label} {count}" for label, count in sorted(counts.items())) or "nothing"
            self.stdout.write(f"{name}: {verb} {detail}")
            if name in report.errors:
                self.stderr.write(f"{name}: failed: {report.errors[name]}")
        if not report.dry_run:
            self.stdout.write("Recorded in the audit log (retention.run).")
