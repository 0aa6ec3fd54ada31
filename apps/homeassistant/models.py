from __future__ import annotations

from django.conf import settings
from django.db import models


class HomeAssistantLink(models.Model):
    """Whether an owner's feeders and pets are published to Home Assistant."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="home_assistant")
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Home Assistant for {self.owner_id}: {'on' if self.enabled else 'off'}"
