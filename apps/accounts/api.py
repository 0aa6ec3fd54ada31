from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from apps.accounts.schemas import MeOut, MeUpdateIn
from apps.accounts.services import user_update
from apps.api.auth import owner
from apps.api.problems import responses

router = Router()


@router.get("", response=responses({200: MeOut}), summary="My profile")
def me_read(request: HttpRequest) -> MeOut:
    return MeOut.model_validate(owner(request), from_attributes=True)


@router.patch("", response=responses({200: MeOut}), summary="Change my profile")
def me_update(request: HttpRequest, payload: MeUpdateIn) -> MeOut:
    user = user_update(user=owner(request), data=payload.model_dump(exclude_unset=True))
    return MeOut.model_validate(user, from_attributes=True)
