from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit hash chain; exit non-zero naming the first bad entry."

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = audit_chain_verify()
        if broken is not None:
            raise CommandError(
                f"audit chain broken at entry #{broken.entry_id}: {broken.reason} ({checked} entries verified before it)"
            )
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {checked} entries verified"))
