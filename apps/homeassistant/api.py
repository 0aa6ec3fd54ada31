"""/api/home-assistant: a household's Home Assistant link, read by any member, turned on or off by a member."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from apps.accounts.auth import owner
from apps.api.problems import responses
from apps.homeassistant.models import HomeAssistantLink
from apps.homeassistant.schemas import HomeAssistantHousehold, HomeAssistantIn, HomeAssistantOut
from apps.homeassistant.selectors import home_assistant_addresses, home_assistant_get
from apps.homeassistant.services import home_assistant_set

router = Router()


def _out(link: HomeAssistantLink, *, may_change: bool) -> dict[str, Any]:
    return {
        "household_id": link.household_id, "enabled": link.enabled, "enabled_by": link.enabled_by_id,
        "enabled_at": link.enabled_at, "may_change": may_change,
        **home_assistant_addresses(household_id=link.household_id),
    }  # fmt: skip


@router.get("", response=responses({200: HomeAssistantOut}), summary="A household's Home Assistant link")
def home_assistant_read(request: HttpRequest, target: Query[HomeAssistantHousehold]) -> dict[str, Any]:
    found = home_assistant_get(user=owner(request), household_id=target.household)
    return _out(found.link, may_change=found.may_change)


@router.put("", response=responses({200: HomeAssistantOut}), summary="Turn a household's Home Assistant link on or off")
def home_assistant_change(
    request: HttpRequest, payload: HomeAssistantIn, target: Query[HomeAssistantHousehold]
) -> dict[str, Any]:
    link = home_assistant_set(user=owner(request), household_id=target.household, enabled=payload.enabled)
    return _out(link, may_change=True)  # the service let me change it
