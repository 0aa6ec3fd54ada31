"""Social log-in against a real OpenID Connect provider on loopback (authlib,
in a subprocess): the browser leg is followed by hand, the code exchange,
ID token check and userinfo call are Django talking to the provider."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.test import Client

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from tests.conftest import OIDC_CLIENT, OIDC_PROVIDER_ID
from tests.support.oidc import OidcProvider


class HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


@pytest.fixture
def social_app(oidc_provider: OidcProvider, db: None) -> SocialApp:
    """Configured as an operator would in the admin, trusting the provider's verified addresses."""
    return SocialApp.objects.create(
        provider="openid_connect",
        provider_id=OIDC_PROVIDER_ID,
        name="Test IdP",
        client_id=OIDC_CLIENT["client_id"],
        secret=OIDC_CLIENT["client_secret"],
        settings={"server_url": oidc_provider.url, "email_authentication": True},
    )


def log_in_with_provider(client: Client, provider: OidcProvider, email: str, password: str) -> str:
    """Run the whole dance; returns where the site sends the browser at the end."""
    start = client.post(f"/accounts/oidc/{OIDC_PROVIDER_ID}/login/")
    assert start.status_code == 302
    authorize_url = start["Location"]
    assert authorize_url.startswith(f"{provider.url}/authorize?")
    assert "code_challenge=" in authorize_url  # PKCE

    form = requests.get(authorize_url, timeout=10)
    assert form.status_code == 200, form.text
    hidden = HiddenInputs()
    hidden.feed(form.text)
    answer = requests.post(
        f"{provider.url}/authorize",
        data={**hidden.fields, "email": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text
    callback = urlsplit(answer.headers["Location"])
    assert callback.netloc == "testserver"

    done = client.get(f"{callback.path}?{callback.query}")
    assert done.status_code == 302, done.content.decode()
    return str(done["Location"])


def logged_in_as(client: Client) -> str | None:
    response = client.get("/api/me")
    return str(response.json()["email"]) if response.status_code == 200 else None


def test_a_new_owner_signs_up_with_the_provider(social_app: SocialApp, oidc_provider: OidcProvider) -> None:
    client = Client()
    log_in_with_provider(client, oidc_provider, "olivia@example.com", "pw-olivia")

    assert logged_in_as(client) == "olivia@example.com"
    olivia = User.objects.get(email="olivia@example.com")
    assert SocialAccount.objects.get(user=olivia).uid == "u-olivia"
    assert EmailAddress.objects.get(user=olivia).verified  # the provider vouched for it
    assert not olivia.has_usable_password()


def test_an_owner_with_a_verified_address_is_logged_in_and_linked(
    social_app: SocialApp, oidc_provider: OidcProvider, alice: User
) -> None:
    client = Client()
    log_in_with_provider(client, oidc_provider, "alice@example.com", "pw-alice")

    assert logged_in_as(client) == "alice@example.com"
    assert SocialAccount.objects.get(user=alice).uid == "u-alice"
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)  # her own password still works

    # The linked log-in: the provider account now leads to alice by itself.
    EmailAddress.objects.filter(user=alice).update(email="alice.new@example.com")
    alice.email = "alice.new@example.com"
    alice.save(update_fields=["email"])
    again = Client()
    log_in_with_provider(again, oidc_provider, "alice@example.com", "pw-alice")
    assert logged_in_as(again) == "alice.new@example.com"


def test_an_unverified_account_is_not_taken_over(social_app: SocialApp, oidc_provider: OidcProvider, bob: User) -> None:
    """Someone may have signed up with bob's address before bob: it stays theirs, unlinked."""
    EmailAddress.objects.filter(user=bob).update(verified=False)
    client = Client()
    landing = log_in_with_provider(client, oidc_provider, "bob@example.com", "pw-bob")

    # As for a new address: allauth does not tell whether the address has an account (the
    # mail to it does), and asks for a code that no mail carries.
    assert landing == "/accounts/confirm-email/"
    assert logged_in_as(client) is None
    assert not SocialAccount.objects.filter(user=bob).exists()
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)  # allauth would have wiped it had it matched by e-mail


def test_an_address_the_provider_did_not_verify_logs_into_nobody(
    social_app: SocialApp, oidc_provider: OidcProvider, alice: User
) -> None:
    client = Client()
    log_in_with_provider(client, oidc_provider, "ALICE@example.com", "pw-fake")

    assert logged_in_as(client) != "alice@example.com"
    assert not SocialAccount.objects.filter(user=alice).exists()
