from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict, Field

from apps.api.types import OutSchema, StrictBool


class HomeAssistantOut(OutSchema):
    """Whether my feeders and pets are published to Home Assistant, and where to point it."""

    enabled: bool
    broker_configured: bool = Field(description="The server has an MQTT broker (MQTT_URL); without one, nothing goes.")
    discovery_prefix: str = Field(
        description="Home Assistant's MQTT discovery prefix for my entities: all my topics are under it."
    )
    availability_topic: str = Field(description="`online` while the bridge runs, `offline` otherwise.")


class HomeAssistantIn(Schema):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool = Field(description="Publish my feeders, pets and schedules to Home Assistant.")
