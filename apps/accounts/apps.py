from __future__ import annotations

from typing import Any

from allauth.account import apps as allauth_account
from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default = True  # this module holds another config: allauth's, renamed
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from allauth.account.signals import user_logged_in
        from django.db.models.signals import post_delete, post_save

        from apps.accounts.api import router, sessions_router
        from apps.accounts.backends import users_changed
        from apps.accounts.models import User
        from apps.api.api import api

        api.add_router("/me/sessions", sessions_router, tags=["me"])  # list, end one, log out everywhere
        api.add_router("/me", router, tags=["me"])

        # After allauth.usersessions' own receiver (an earlier app), which creates the session record.
        user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts-session-client")
        # Every process's copies of user rows end with any change to one (apps/accounts/backends.py).
        post_save.connect(users_changed, sender=User, dispatch_uid="accounts-users-changed")
        post_delete.connect(users_changed, sender=User, dispatch_uid="accounts-users-deleted")


def on_user_logged_in(sender: object, request: Any, **kwargs: Any) -> None:
    from apps.accounts.services import user_session_record_client

    headless = getattr(getattr(request, "allauth", None), "headless", None)
    client = getattr(headless, "client", "browser")
    client = str(getattr(client, "value", client))  # allauth's Client enum: "app" or "browser"
    if request.session.session_key:
        user_session_record_client(session_key=request.session.session_key, client=client)


class AllauthAccountConfig(allauth_account.AccountConfig):
    """allauth's account app is "Accounts" too: two admin sections of one name. Its section holds
    e-mail addresses, so it is named for them (Django's way to rename an installed app)."""

    verbose_name = "E-mail addresses"
