"""/api/home-assistant: an owner turns the Home Assistant bridge on or off for their feeders and pets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from apps.api.auth import request_user
from apps.api.problems import responses
from apps.homeassistant.discovery import Topics, bridge_availability_topic
from apps.homeassistant.models import HomeAssistantLink
from apps.homeassistant.schemas import HomeAssistantIn, HomeAssistantOut
from apps.homeassistant.selectors import home_assistant_get
from apps.homeassistant.services import home_assistant_set

router = Router()


def _out(link: HomeAssistantLink) -> dict[str, Any]:
    prefix = settings.MQTT_TOPIC_PREFIX
    return {
        "enabled": link.enabled,
        "broker_configured": bool(settings.MQTT_URL),
        "discovery_prefix": Topics(prefix=prefix, owner_id=link.owner_id).root,
        "availability_topic": bridge_availability_topic(prefix),
    }


@router.get("", response=responses({200: HomeAssistantOut}), summary="My Home Assistant link")
def home_assistant_read(request: HttpRequest) -> dict[str, Any]:
    return _out(home_assistant_get(user=request_user(request)))


@router.put("", response=responses({200: HomeAssistantOut}), summary="Turn my Home Assistant link on or off")
def home_assistant_change(request: HttpRequest, payload: HomeAssistantIn) -> dict[str, Any]:
    return _out(home_assistant_set(user=request_user(request), enabled=payload.enabled))
