"""The Home Assistant page in headless Chromium against the real server: a member turns one of her
households on with its own toggle; a viewer of it sees it on, with no toggle to press."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.homeassistant.models import HomeAssistantLink
from apps.households.roles import Role
from apps.households.tests.factories import household_of, member_add
from catfeeder.testing import AsgiServer, process_env

pytestmark = pytest.mark.xdist_group("web_home_assistant")  # one server and one Chromium for the module

TIMEOUT = 30_000  # ms for anything that waits on the server


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop on this thread, and Django refuses ORM calls while
    # one runs; the test's queries run between browser steps, never during one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def _web_server(django_db_setup: None, process_logs: Path) -> Iterator[AsgiServer]:
    server = AsgiServer(env=process_env(MQTT_TOPIC_PREFIX="catfeeder"), log_dir=process_logs)
    yield server
    server.stop()


def page_of(browser: Browser, server: AsgiServer, user: User) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{server.url}/")
    page.goto(f"{server.url}/accounts/home-assistant/")
    return page


def test_a_member_turns_one_household_on_and_a_viewer_sees_it_without_a_toggle(
    server: AsgiServer, browser: Browser, alice: User, bob: User, charlie: User
) -> None:
    alices, bobs = household_of(alice), household_of(bob)
    member_add(bobs, alice, Role.MEMBER)
    member_add(bobs, charlie, Role.VIEWER)

    page = page_of(browser, server, alice)
    mine, theirs = page.locator(f"[data-household='{alices.pk}']"), page.locator(f"[data-household='{bobs.pk}']")
    expect(theirs.locator("[data-discovery-prefix]")).to_have_text(f"catfeeder/{bobs.pk}")
    expect(mine.locator("[data-discovery-prefix]")).to_have_text(f"catfeeder/{alices.pk}")
    theirs.get_by_label("Publish this household's feeders").check()
    theirs.get_by_role("button", name="Save").click()
    expect(page.get_by_text(f"Home Assistant is on for {bobs.name}.")).to_be_visible()
    expect(theirs.locator(".badge.ok")).to_have_text("on")
    expect(theirs.get_by_text("Turned on by Alice")).to_be_visible()
    expect(mine.locator(".badge.off")).to_have_text("off")
    link = HomeAssistantLink.objects.get(household=bobs)
    assert (link.enabled, link.enabled_by_id) == (True, alice.pk)
    assert not HomeAssistantLink.objects.filter(household=alices).exists()

    viewer = page_of(browser, server, charlie)
    section = viewer.locator(f"[data-household='{bobs.pk}']")
    expect(section.locator(".badge.ok")).to_have_text("on")
    expect(section.get_by_text("As a viewer you see whether it is on")).to_be_visible()
    expect(section.locator("input[type=checkbox]")).to_have_count(0)
    expect(section.get_by_role("button", name="Save")).to_have_count(0)
