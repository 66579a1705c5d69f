"""Embedded mode: the Celery worker and beat as threads of the server process.

Used when ``REDIS_URL`` is unset (``make run``). The broker is kombu's in-memory
transport, shared by every thread of the process, so web requests enqueue tasks that
this worker executes, eta timers included: the same task code paths as production.
"""

from __future__ import annotations

import logging
import threading

from celery.beat import EmbeddedService

from alertguardian.celery import app

logger = logging.getLogger(__name__)


def start_worker(concurrency: int = 4) -> threading.Thread:
    worker = app.WorkController(
        pool_cls="threads",
        concurrency=concurrency,
        loglevel="INFO",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        hostname="embedded@localhost",
    )
    thread = threading.Thread(target=worker.start, name="celery-worker", daemon=True)
    thread.start()
    return thread


def start_beat() -> EmbeddedService:
    beat = EmbeddedService(app, thread=True, scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler")
    beat.start()
    return beat


def start_embedded_worker_and_beat() -> None:
    start_worker()
    start_beat()
    logger.info("embedded Celery worker and beat started (in-memory broker)")
