"""Create a bench team and a flight_events integration; print its token (bench only)."""

from __future__ import annotations

import os
import sys
import time

import django

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alertguardian.settings")
django.setup()

from accounts.models import Team  # noqa: E402
from alerts.models import IntegrationKind  # noqa: E402
from alerts.services.integrations import integration_create  # noqa: E402

name = f"Bench {int(time.time())}"
team = Team.objects.create(name=name, slug=name.lower().replace(" ", "-"))
print(integration_create(team=team, kind=IntegrationKind.FLIGHT_EVENTS, name="wrk", by=None).token)
