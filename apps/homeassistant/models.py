from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.households.models import Household


class HomeAssistantLink(models.Model):
    """Whether a household's feeders, pets and schedules are published to Home Assistant.

    One per household. Home Assistant's presses and switch toggles act as `enabled_by`, the member
    who turned the link on: through the same services and role rules as their own presses, so a
    member who has since left or become a viewer is refused at once.
    """

    household = models.OneToOneField(Household, on_delete=models.CASCADE, related_name="home_assistant")
    enabled = models.BooleanField(default=False)
    # Kept when the account goes: the link stays on (states still flow) and presses are refused.
    enabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    enabled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Home Assistant for household {self.household_id}: {'on' if self.enabled else 'off'}"
