"""Social providers from the environment (the admin's SocialApp is the other way)."""

from __future__ import annotations

import environ

from catfeeder.settings.accounts import social_providers
from catfeeder.settings.environment import Environment


def providers(**variables: str) -> dict[str, dict[str, object]]:
    env = environ.Env()
    env.ENVIRON = variables  # type: ignore[assignment]
    return social_providers(Environment(env))


def test_no_variables_configure_no_apps() -> None:
    found = providers()
    assert all("APPS" not in provider for provider in found.values())


def test_google_and_github_come_from_their_client_variables() -> None:
    found = providers(
        GOOGLE_CLIENT_ID="g-id", GOOGLE_CLIENT_SECRET="g-secret", GITHUB_CLIENT_ID="h-id", GITHUB_CLIENT_SECRET="h-s"
    )
    assert found["google"]["APPS"] == [{"client_id": "g-id", "secret": "g-secret"}]
    assert found["github"]["APPS"] == [{"client_id": "h-id", "secret": "h-s"}]


def test_an_openid_connect_server_is_not_trusted_with_existing_accounts_unless_told() -> None:
    base = {"OIDC_CLIENT_ID": "cf", "OIDC_CLIENT_SECRET": "s", "OIDC_SERVER_URL": "https://id.example.com"}
    [app] = providers(**base)["openid_connect"]["APPS"]  # type: ignore[misc]
    assert app["provider_id"] == "oidc"
    assert app["settings"]["server_url"] == "https://id.example.com"
    assert app["settings"]["email_authentication"] is False
    [trusted] = providers(**base, OIDC_EMAIL_AUTHENTICATION="true")["openid_connect"]["APPS"]  # type: ignore[misc]
    assert trusted["settings"]["email_authentication"] is True
