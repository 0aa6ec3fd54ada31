from __future__ import annotations

from datetime import datetime

from ninja import Schema

from apps.api.types import TimeZone, optional


class MeOut(Schema):
    id: int
    email: str
    name: str
    time_zone: str
    date_joined: datetime


class MeUpdateIn(Schema):
    name: str = optional(max_length=150)
    time_zone: TimeZone = optional(description="IANA time zone, e.g. Europe/Paris")
