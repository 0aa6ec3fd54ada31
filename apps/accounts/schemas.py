from __future__ import annotations

import zoneinfo
from datetime import datetime

from ninja import Schema
from pydantic import Field, field_validator


class MeOut(Schema):
    id: int
    email: str
    name: str
    time_zone: str
    date_joined: datetime


class MeUpdateIn(Schema):
    name: str | None = Field(default=None, max_length=150)
    time_zone: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Paris")

    @field_validator("time_zone")
    @classmethod
    def known_time_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone {value!r}")
        return value
