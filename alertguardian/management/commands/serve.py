from __future__ import annotations

from typing import Any

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the whole system (ASGI: API, admin, board, WebSockets); embedded worker and beat without REDIS_URL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EMBEDDED:
            from alertguardian.embedded import start_embedded_worker_and_beat

            start_embedded_worker_and_beat()
            self.stdout.write("Embedded mode: SQLite/in-memory channel layer, Celery worker and beat in process.")
        self.stdout.write(f"Serving on http://{options['host']}:{options['port']}/")
        CommandLineInterface().run(
            ["-b", options["host"], "-p", str(options["port"]), "alertguardian.asgi:application"]
        )
