from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class HouseholdsConfig(AppConfig):
    name = "apps.households"
    label = "households"
    verbose_name = "Households"

    def ready(self) -> None:
        from allauth.account.signals import user_signed_up

        from apps.api.api import api
        from apps.households.api import router

        api.add_router("/households", router, tags=["households"])
        user_signed_up.connect(on_user_signed_up, dispatch_uid="households-sign-up")


def on_user_signed_up(sender: object, request: Any, user: Any, **kwargs: Any) -> None:
    """Every new account starts with a household of its own, its owner (e-mail and social sign-ups)."""
    from apps.households.services import household_create

    household_create(user=user)
