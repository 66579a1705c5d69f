"""``manage.py seed_demo``: idempotent demo data, run at every ``make run``.

Each installed app may ship ``<app>/demo.py`` with ``seed_demo(ctx: accounts.demo.DemoContext)``;
they run in ``INSTALLED_APPS`` order, each in its own transaction.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DemoContext


def demo_steps() -> list[tuple[str, Callable[[DemoContext], None]]]:
    steps: list[tuple[str, Callable[[DemoContext], None]]] = []
    for config in apps.get_app_configs():
        module_name = f"{config.name}.demo"
        try:
            module: ModuleType = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        step = getattr(module, "seed_demo", None)
        if callable(step):
            steps.append((config.label, step))
    return steps


class Command(BaseCommand):
    help = "Create or top up the demo data (users, team, on-call, and whatever other apps add). Safe to rerun."

    def handle(self, *args: Any, **options: Any) -> None:
        ctx = DemoContext(write=self.stdout.write)
        for _label, step in demo_steps():
            with transaction.atomic():
                step(ctx)
        for note in ctx.notes:
            self.stdout.write(note)
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {ctx.password})"))
        width = max((len(email) for email, _ in ctx.logins), default=0)
        for email, description in ctx.logins:
            self.stdout.write(f"  {email.ljust(width)}  {description}")
