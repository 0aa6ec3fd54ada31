"""A household shared with roles, in headless Chromium against the real server and a real device socket.

Alice invites Bob as a member and Carol as a viewer from her members page; the mail goes through a
real worker and SMTP server, and Bob follows its link. Bob feeds (the device answers over its
socket) and edits a schedule; Carol watches the feeding arrive live, has no "Feed now", and her
forged post is a 403. Alice removes Bob: his open dashboard hears nothing of the household after.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD, UserFactory
from apps.feeders import events
from apps.feeders.models import FeedCommand, FeedEvent, MealSchedule
from apps.feeders.tests.factories import FeederFactory, ScheduleFactory
from apps.feeders.tests.test_device_socket import Home, device, home
from apps.households.models import Membership
from apps.households.services import household_create
from catfeeder.testing import AsgiServer, CeleryWorker, process_env
from tests.conftest import Mail
from tests.support.smtp import SmtpServer, parts

pytestmark = pytest.mark.xdist_group("households_browser")  # one Chromium and server, set up once

TIMEOUT = 30_000  # ms for anything that waits on the server, the worker or the socket


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop on this thread; the test's queries run between
    # browser steps, never concurrently with anything on that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def _web_server(_mail: tuple[SmtpServer, CeleryWorker, str], process_logs: Path) -> Iterator[AsgiServer]:
    """The server, its mail queued for the mail fixture's worker (which delivers to the SMTP server)."""
    server = AsgiServer(env=process_env(EMAIL_QUEUE=_mail[2]), log_dir=process_logs)
    yield server
    server.stop()


@pytest.fixture
def person(browser: Browser) -> Iterator[Callable[[], Page]]:
    """A page in a browser context of its own (its own cookies: one person each)."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # the pages' "Remove …?" confirmations
        return page

    yield open_page
    for context in contexts:
        context.close()


def log_in(page: Page, user: User, *, lands_on: str | re.Pattern[str]) -> None:
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lands_on)


def live(page: Page, path: str, server: AsgiServer) -> None:
    page.goto(server.url + path)
    expect(page.locator("body[data-live=open]")).to_be_attached()


def invite(page: Page, email: str, role: str) -> str:
    """Alice's members page: invite `email`; the code it shows this once."""
    page.fill("#id_email", email)
    page.select_option("#id_role", role)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator("[data-invitation-created] h2")).to_have_text(f"Invitation sent to {email}")
    return page.locator("[data-invitation-code]").inner_text()


def frames_of(page: Page) -> tuple[list[dict[str, Any]], list[WebSocket]]:
    """What the page's sockets receive, frame by frame (call before the page opens its socket)."""
    frames: list[dict[str, Any]] = []
    sockets: list[WebSocket] = []

    def opened(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", opened)
    return frames, sockets


def status_of(feeder_id: int) -> Callable[[str | bytes], bool]:
    """Whether a frame is the FeederStatus of that feeder."""

    def fits(payload: str | bytes) -> bool:
        frame = json.loads(payload)
        return bool(frame.get("type") == "FeederStatus" and frame.get("feeder_id") == feeder_id)

    return fits


def test_a_household_shared_with_roles_and_a_removed_member_hears_no_more_of_it(
    server: AsgiServer, mail: Mail, person: Callable[[], Page], alice: User
) -> None:
    # Addresses of their own: the SMTP server's inbox lasts the session.
    bob = UserFactory(email=f"bob-{uuid.uuid4().hex[:12]}@example.com", name="Bob")
    carol = UserFactory(email=f"carol-{uuid.uuid4().hex[:12]}@example.com", name="Carol")
    kitchen: Home = home(alice, 7)  # a paired feeder, a pet wearing a tag, in alice's household
    household = kitchen.feeder.household
    schedule = ScheduleFactory(pet=kitchen.pet, feeder=kitchen.feeder, times=["07:00"], grams=20)
    bobs_hall = FeederFactory(household=household_create(user=bob), name="Bob's hall")  # his own, his default
    fed_line = f"for {kitchen.pet.name} from {kitchen.feeder.name}"

    # Alice invites Bob as a member and Carol as a viewer; each code is shown once.
    as_alice = person()
    as_alice.goto(f"{server.url}/households/{household.pk}/")
    log_in(as_alice, alice, lands_on=re.compile(rf"/households/{household.pk}/$"))
    invite(as_alice, bob.email, "member")
    carols_code = invite(as_alice, carol.email, "viewer")

    # Bob follows the mail's link, logs in on the way, and accepts: the pages now show alice's household.
    [message] = mail.smtp.wait_for(bob.email)
    link = re.search(r"(http://\S+/invitations/\?code=[A-Z2-9-]+)", parts(message)[0])
    assert link, parts(message)[0]
    as_bob = person()
    bobs_frames, bobs_sockets = frames_of(as_bob)
    as_bob.goto(link.group(1))
    log_in(as_bob, bob, lands_on=re.compile(r"/invitations/\?code="))
    as_bob.get_by_role("button", name="Accept").click()
    as_bob.wait_for_url(f"{server.url}/")
    expect(as_bob.locator(".message.success")).to_contain_text(f"Welcome to {household.name}")
    # The menu shows his own household, then alice's again (choosing is enough: the script posts it).
    as_bob.select_option("#household-choice", label=bobs_hall.household.name)
    expect(as_bob.get_by_role("link", name=bobs_hall.name)).to_be_visible()
    as_bob.select_option("#household-choice", label=household.name)
    expect(as_bob.get_by_role("link", name=kitchen.feeder.name)).to_be_visible()
    expect(as_bob.get_by_role("link", name=bobs_hall.name)).to_have_count(0)

    # Carol types the code Alice read to her, and accepts as a viewer.
    as_carol = person()
    as_carol.goto(f"{server.url}/invitations/")
    log_in(as_carol, carol, lands_on=re.compile(r"/invitations/$"))
    as_carol.fill("#id_code", carols_code)
    as_carol.get_by_role("button", name="Accept").click()
    as_carol.wait_for_url(f"{server.url}/")
    live(as_carol, "/", server)
    expect(as_carol.get_by_role("button", name="Feed now")).to_have_count(0)

    with device(server, kitchen) as feeder:
        feeder.call("Hello", firmware="1.0")
        # Bob feeds from the dashboard; the device dispenses; Carol sees it live, by Bob.
        live(as_bob, "/", server)
        form = as_bob.locator("form[data-feed-now]")
        form.locator("select[name=pet]").select_option(label=kitchen.pet.name)
        form.locator("input[name=grams]").fill("10")
        form.get_by_role("button", name="Feed now").click()
        command_id = feeder.expect("FeedNow")["command_id"]
        assert feeder.call("CommandResult", command_id=command_id, status="done", grams_dispensed=10)["type"] == "Ack"
        expect(form.locator("[data-command-status]")).to_have_attribute("data-state", "done")
        fed = as_carol.locator('[data-live-list="feedings"] li.new')
        expect(fed).to_have_count(1)
        expect(fed).to_contain_text(f"10 g {fed_line}")
        expect(fed).to_contain_text("by Bob")
        assert FeedEvent.objects.get(command_id=command_id).ordered_by == bob

        # Carol's forged "Feed now" post is refused and orders nothing.
        token = as_carol.locator("input[name=csrfmiddlewaretoken]").first.input_value()
        forged = as_carol.request.post(
            f"{server.url}/feed/", form={"csrfmiddlewaretoken": token, "feeder": str(kitchen.feeder.pk), "grams": "10"}
        )
        assert forged.status == 403
        assert FeedCommand.objects.count() == 1

        # Bob edits the schedule.
        as_bob.goto(f"{server.url}/schedules/")
        meals = as_bob.locator(f"#schedule-{schedule.pk} form.schedule-form")
        meals.locator(f"#id_s{schedule.pk}-grams").fill("25")
        meals.get_by_role("button", name="Save").click()
        expect(as_bob.locator(".message.success")).to_contain_text(f"The meals of {kitchen.pet.name} are saved.")
        assert MealSchedule.objects.get(pk=schedule.pk).grams == 25

        # Alice removes Bob while his dashboard is open.
        live(as_bob, "/", server)
        as_alice.goto(f"{server.url}/households/{household.pk}/")
        as_alice.locator(f'tr[data-member="{bob.pk}"]').get_by_role("button", name="Remove").click()
        expect(as_alice.locator(".message.success")).to_contain_text("The member is removed")
        assert not Membership.objects.filter(household=household, user=bob).exists()
        live(as_alice, "/", server)

        # The device feeds again: Alice's and Carol's pages show it; Bob's socket never hears it.
        feeder.call("Fed", beacon_mac=kitchen.beacon.mac, grams=13, event_id="after-bob-left")
        expect(as_alice.locator('[data-live-list="feedings"] li.new').first).to_contain_text(f"13 g {fed_line}")
        expect(as_carol.locator('[data-live-list="feedings"] li.new').first).to_contain_text(f"13 g {fed_line}")
        # Sent after the feeding to a group Bob still hears: once his page has it, the feeding is past.
        with bobs_sockets[-1].expect_event("framereceived", predicate=status_of(bobs_hall.pk)):
            events.feeder_changed(bobs_hall)
    assert [f for f in bobs_frames if f.get("type") == "FedRecorded" and f.get("grams") == 13] == []
    expect(as_bob.locator('[data-live-list="feedings"]')).not_to_contain_text("13 g")
