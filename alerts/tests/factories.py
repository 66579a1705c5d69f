from __future__ import annotations

import hashlib

import factory

from accounts.tests.factories import TeamFactory
from alerts.models import Alert, AlertSource, AlertStatus, Integration, IntegrationKind, Severity


class IntegrationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Integration

    team = factory.SubFactory(TeamFactory)
    kind = IntegrationKind.FLIGHT_EVENTS
    name = factory.Sequence(lambda n: f"integration {n}")
    token_hash = factory.Sequence(lambda n: hashlib.sha256(f"token-{n}".encode()).hexdigest())


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    team = factory.SubFactory(TeamFactory)
    source = AlertSource.SYSTEM
    type = "flight_delayed"
    severity = Severity.HIGH
    status = AlertStatus.TRIGGERED
    title = factory.Sequence(lambda n: f"Alert {n}")
