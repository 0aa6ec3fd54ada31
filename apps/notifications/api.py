"""/api/me/alerts: which alerts an owner gets by mail."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from apps.api.auth import request_user
from apps.api.problems import responses
from apps.notifications.models import AlertPreference
from apps.notifications.schemas import AlertPreferencesIn, AlertPreferencesOut
from apps.notifications.selectors import alert_preferences_get
from apps.notifications.services import alert_preferences_update

router = Router()


@router.get("", response=responses({200: AlertPreferencesOut}), summary="My alert mails")
def alert_preferences_read(request: HttpRequest) -> AlertPreference:
    return alert_preferences_get(owner=request_user(request))


@router.patch("", response=responses({200: AlertPreferencesOut}), summary="Choose my alert mails")
def alert_preferences_change(request: HttpRequest, payload: AlertPreferencesIn) -> AlertPreference:
    return alert_preferences_update(owner=request_user(request), data=payload.model_dump(exclude_unset=True))
