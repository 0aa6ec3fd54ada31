"""/api/home-assistant: an owner turns the Home Assistant bridge on or off for their feeders and pets."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from apps.api.auth import request_user
from apps.api.problems import responses
from apps.homeassistant.models import HomeAssistantLink
from apps.homeassistant.schemas import HomeAssistantIn, HomeAssistantOut
from apps.homeassistant.selectors import home_assistant_addresses, home_assistant_get
from apps.homeassistant.services import home_assistant_set

router = Router()


def _out(link: HomeAssistantLink) -> dict[str, Any]:
    return {"enabled": link.enabled, **home_assistant_addresses(owner_id=link.owner_id)}


@router.get("", response=responses({200: HomeAssistantOut}), summary="My Home Assistant link")
def home_assistant_read(request: HttpRequest) -> dict[str, Any]:
    return _out(home_assistant_get(user=request_user(request)))


@router.put("", response=responses({200: HomeAssistantOut}), summary="Turn my Home Assistant link on or off")
def home_assistant_change(request: HttpRequest, payload: HomeAssistantIn) -> dict[str, Any]:
    return _out(home_assistant_set(user=request_user(request), enabled=payload.enabled))
