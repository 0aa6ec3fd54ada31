from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from apps.api.types import SafeText, TimeZone, optional


class MeOut(Schema):
    id: int
    email: str
    name: str
    time_zone: str
    date_joined: datetime
    email_verified: bool = Field(description="Confirmed from the mail we sent; needed to pair a feeder.")


class MeUpdateIn(Schema):
    name: SafeText = optional(max_length=150)
    time_zone: TimeZone = optional(description="IANA time zone, e.g. Europe/Paris")


class MeDeleteIn(Schema):
    password: str = Field(description="The account's password, to confirm.")


class SessionOut(Schema):
    id: int
    client: Literal["browser", "app"] = Field(description="A web browser's log-in, or an app token.")
    ip: str
    user_agent: str
    created_at: datetime
    last_seen_at: datetime
    current: bool = Field(description="The session (or app token) making this request.")
