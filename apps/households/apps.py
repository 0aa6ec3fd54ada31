from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class HouseholdsConfig(AppConfig):
    name = "apps.households"
    label = "households"
    verbose_name = "Households"

    def ready(self) -> None:
        from allauth.account.signals import user_signed_up
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        from apps.api.api import api
        from apps.households.api import invitations, router

        api.add_router("/households", router, tags=["households"])
        api.add_router("/invitations", invitations, tags=["households"])
        user_signed_up.connect(on_user_signed_up, dispatch_uid="households-sign-up")
        # An account's rows are its households': whoever deletes the user (the account page, the
        # admin), a household left with nobody goes too, and one left with no owner gets one.
        pre_delete.connect(on_user_deleting, sender=get_user_model(), dispatch_uid="households-user-deleting")


def on_user_signed_up(sender: object, request: Any, user: Any, **kwargs: Any) -> None:
    """Every new account starts with a household of its own, its owner (e-mail and social sign-ups)."""
    from apps.households.services import household_create

    household_create(user=user)


def on_user_deleting(sender: object, instance: Any, **kwargs: Any) -> None:
    from apps.households.services import households_release

    households_release(user=instance)
