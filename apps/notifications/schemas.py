from __future__ import annotations

from ninja import Schema
from pydantic import ConfigDict

from apps.api.types import OutSchema, StrictBool, optional


class AlertPreferencesOut(OutSchema):
    """Which alerts are mailed to me (one mail per incident)."""

    feeder_offline: bool
    meal_missed: bool
    allowance_reached: bool
    low_food: bool
    command_failed: bool


class AlertPreferencesIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt alert is a 422, not a silent no-op

    feeder_offline: StrictBool = optional(description="A feeder silent for longer than ALERT_OFFLINE_AFTER seconds.")
    meal_missed: StrictBool = optional(description="A scheduled meal that could not be given in time.")
    allowance_reached: StrictBool = optional(description="A scheduled meal not served: the allowance was eaten.")
    low_food: StrictBool = optional(description="A feeder's food level under ALERT_LOW_FOOD_PERCENT.")
    command_failed: StrictBool = optional(description="A feed command the feeder failed or never got.")
