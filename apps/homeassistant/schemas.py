from __future__ import annotations

import datetime as dt

from ninja import FilterSchema, Schema
from pydantic import ConfigDict, Field

from apps.api.types import OutSchema, QueryRowId, StrictBool


class HomeAssistantHousehold(FilterSchema):
    household: QueryRowId | None = Field(
        None,
        description="One of my households (else my first, by membership). Not mine: 404; changing it as a viewer: 403.",
    )


class HomeAssistantOut(OutSchema):
    """Whether a household's feeders and pets are published to Home Assistant, and where to point it."""

    household_id: int
    enabled: bool
    enabled_by: int | None = Field(
        description="The member who turned it on: Home Assistant's presses act as them, as far as their role "
        "in the household still allows. Null while it is off."
    )
    enabled_at: dt.datetime | None = Field(description="When it was turned on; null while it is off.")
    may_change: bool = Field(description="Whether my role lets me turn it on or off (a member's or an owner's).")
    broker_configured: bool = Field(description="The server has an MQTT broker (MQTT_URL); without one, nothing goes.")
    discovery_prefix: str = Field(
        description="Home Assistant's MQTT discovery prefix for this household: all its topics are under it."
    )
    availability_topic: str = Field(description="`online` while the bridge runs, `offline` otherwise.")


class HomeAssistantIn(Schema):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = Field(description="Publish the household's feeders, pets and schedules to Home Assistant.")
