"""The owner pages in headless Chromium against the real server, with a simulated feeder.

One owner's journey from signing up to watching a "feed now" complete, the
mail going through a real worker and SMTP server, the device pairing over the
real device socket with the code the page showed. The run leaves screenshots
of the main pages in var/screenshots/ (ignored by git); `make screenshots` runs
it with SCREENSHOTS_DIR=docs/screenshots to refresh the README's pictures on purpose.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import Browser, Page, expect, sync_playwright

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.devreload.tests.harness import launch_chromium
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet
from apps.feeders.selectors.allowance import pet_allowance
from apps.feeders.services import pets as pet_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from catfeeder.testing import BASE_DIR, AsgiServer, CeleryWorker, process_env, wait_until
from tests.conftest import Mail
from tests.support.smtp import SmtpServer, parts

pytestmark = pytest.mark.xdist_group("web_browser")  # one Chromium and server, set up once

# A test run must not rewrite tracked files: the documented pictures change only when asked to.
SCREENSHOTS = BASE_DIR / os.environ.get("SCREENSHOTS_DIR", "var/screenshots")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
FEEDER_MAC, COLLAR_MAC = "5E:00:00:00:0A:01", "5C:00:00:00:0A:01"
TIMEOUT = 30_000  # ms for anything that waits on the server, the worker or the device


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop on this thread, and Django refuses
    # ORM calls while one runs; the test's queries run between browser steps, never
    # concurrently with anything on that loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def _web_server(_mail: tuple[SmtpServer, CeleryWorker, str], process_logs: Path) -> Iterator[AsgiServer]:
    """The server, its mail queued for the mail fixture's worker (which delivers to the SMTP server)."""
    queue = _mail[2]
    server = AsgiServer(env=process_env(EMAIL_QUEUE=queue), log_dir=process_logs)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDTHS["desktop"])
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def log_in(page: Page, server: AsgiServer, user: User) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{server.url}/")


def sign_up_and_verify(page: Page, server: AsgiServer, smtp: SmtpServer) -> str:
    address = f"dora-{uuid.uuid4().hex[:12]}@example.com"  # one verification mail per address per 3 minutes
    page.goto(f"{server.url}/accounts/signup/")
    page.fill("#id_email", address)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url(f"{server.url}/accounts/confirm-email/")  # asks for the code from the mail

    [message] = smtp.wait_for(address)
    code = re.search(r"Your code: (\S+)", parts(message)[0])
    assert code, parts(message)[0]
    page.fill("#id_code", code.group(1))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{server.url}/")
    expect(page.locator(".notice")).to_have_count(0)
    return address


def add_collar_tag_and_pet(page: Page, server: AsgiServer) -> int:
    page.goto(f"{server.url}/collar-tags/")
    expect(page.get_by_text("No collar tags yet")).to_be_visible()
    page.fill("#id_name", "Red collar")
    page.fill("#id_mac", COLLAR_MAC.lower())
    page.get_by_role("button", name="Add the tag").click()
    expect(page.locator("td.mono")).to_have_text(COLLAR_MAC)

    page.goto(f"{server.url}/pets/new/")
    page.fill("#id_name", "Miso")
    page.select_option("#id_beacon", label=f"Red collar ({COLLAR_MAC})")
    page.fill("#id_allowance_grams", "600")
    page.get_by_role("button", name="Add the pet").click()
    page.wait_for_url(re.compile(r"/pets/\d+/$"))
    expect(page.get_by_role("heading", name="Miso", level=1)).to_be_visible()
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def cat_picture() -> bytes:
    """A drawn cat face, PNG: something to upload as a pet's photo."""
    image = Image.new("RGB", (240, 240), (246, 224, 196))
    draw = ImageDraw.Draw(image)
    draw.polygon([(40, 110), (70, 20), (115, 80)], fill=(214, 120, 52))
    draw.polygon([(200, 110), (170, 20), (125, 80)], fill=(214, 120, 52))
    draw.ellipse((30, 50, 210, 220), fill=(232, 138, 64))
    draw.ellipse((75, 110, 100, 140), fill=(40, 40, 40))
    draw.ellipse((140, 110, 165, 140), fill=(40, 40, 40))
    draw.polygon([(110, 160), (130, 160), (120, 172)], fill=(200, 80, 90))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def upload_photo(page: Page) -> None:
    page.set_input_files("#id_file", files=[{"name": "miso.png", "mimeType": "image/png", "buffer": cat_picture()}])
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".message.success")).to_contain_text("The photo is uploaded")
    # The thumbnails are made by the worker; the page shows the photo once they are.
    wait_until(
        lambda: bool(page.reload() and page.locator("img.avatar").count()), timeout=60, what="thumbnails", interval=0.5
    )
    photo = page.locator("img.avatar")
    expect(photo).to_have_attribute("alt", "Photo of Miso")
    assert (
        photo.evaluate("img => img.complete && img.naturalWidth") > 0
    )  # the file itself, through the owner-checked route


def add_feeder_and_show_code(page: Page, server: AsgiServer) -> tuple[int, str]:
    page.goto(f"{server.url}/feeders/new/")
    page.fill("#id_name", "Kitchen")
    page.fill("#id_mac", "not a mac")
    page.get_by_role("button", name="Add the feeder").click()
    expect(page.locator('[data-field="mac"] .errorlist')).to_contain_text("Not a MAC address")  # next to the field
    page.fill("#id_mac", FEEDER_MAC)
    page.get_by_role("button", name="Add the feeder").click()
    page.wait_for_url(re.compile(r"/feeders/\d+/$"))
    feeder_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    expect(page.locator(f'[data-feeder-online="{feeder_id}"]')).to_have_text("offline")
    page.get_by_role("button", name="Show a pairing code").click()
    code = page.locator("[data-pairing-code]").inner_text()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code), code
    return feeder_id, code


def simulated_device(server: AsgiServer, code: str, log: Path) -> subprocess.Popen[bytes]:
    """One device of the owner's feeder, paired with the code the page showed; its output goes to `log`."""
    argv = [sys.executable, "manage.py", "simulate_feeders", "--url", server.ws_url, "--mac", FEEDER_MAC,
            "--code", code, "--collar", COLLAR_MAC, "--heartbeat", "1", "--visit-every", "3",
            "--eat-grams", "10", "--eat-chance", "1", "--duration", "300"]  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(argv, env=process_env(), cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT)


def a_month_of_meals(pet_id: int, feeder_id: int) -> None:
    pet, feeder = Pet.objects.get(pk=pet_id), Feeder.objects.get(pk=feeder_id)
    now = timezone.now()
    for day in range(1, 30):
        # Each day's meals inside that day's allowance period, whatever the time of day now: spread
        # back from now, two days' meals could share a period and pass its allowance.
        period_start = pet_allowance(pet=pet, now=now - dt.timedelta(days=day)).period_start
        for grams in (120, 90 + day % 5 * 20, 60 + day % 7 * 15):
            at = period_start + dt.timedelta(hours=6 + grams % 9)
            pet_services.pet_feed(pet=pet, feeder=feeder, grams=grams, source=FeedSource.DEVICE, at=at)


def screenshots(page: Page, server: AsgiServer, pages: dict[str, str]) -> None:
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            page.goto(server.url + path)
            expect(page.locator("body[data-live=open]")).to_be_attached()
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(WIDTHS["desktop"])
    page.emulate_media(color_scheme="dark")  # the system's setting, the toggle left on Auto
    page.goto(server.url + pages["dashboard"])
    expect(page.locator("body[data-live=open]")).to_be_attached()
    page.screenshot(path=str(SCREENSHOTS / "dashboard-dark-desktop.png"), full_page=True)


def test_an_owner_signs_up_pairs_a_feeder_and_watches_feed_now_complete(
    server: AsgiServer, mail: Mail, celery_worker: CeleryWorker, page: Page, process_logs: Path
) -> None:
    sign_up_and_verify(page, server, mail.smtp)
    pet_id = add_collar_tag_and_pet(page, server)
    upload_photo(page)
    feeder_id, code = add_feeder_and_show_code(page, server)
    page.screenshot(path=str(SCREENSHOTS / "feeder-pairing-desktop.png"), full_page=True)

    device = simulated_device(server, code, process_logs / f"simulated-device-{uuid.uuid4().hex[:8]}.log")
    try:
        # The device pairs and connects: the page that showed the code hears it, without a reload.
        expect(page.locator("body[data-live=open]")).to_be_attached()
        # The device is a process of its own that pairs first: slow beside parallel test workers.
        expect(page.locator(f'[data-feeder-online="{feeder_id}"]').first).to_have_text("online", timeout=TIMEOUT)
        expect(page.locator(f'[data-feeder-food="{feeder_id}"]').first).to_contain_text("%")
        expect(page.locator('[data-live-list="visits"] li').first).to_contain_text("Miso at Kitchen")

        # Feed now: pending, sent, done, over the owner socket.
        form = page.locator("form[data-feed-now]")
        form.locator("select[name=pet]").select_option(label="Miso")
        form.locator("input[name=grams]").fill("15")
        form.get_by_role("button", name="Feed now").click()
        status = form.locator("[data-command-status]")
        expect(status).to_have_attribute("data-state", "done")
        expect(status).to_contain_text("Done: 15 g dispensed.")
        command = FeedCommand.objects.get(feeder_id=feeder_id)
        assert (command.status, command.grams_dispensed, command.pet_id) == (CommandStatus.DONE, 15, pet_id)

        # An allowance the service refuses shows next to the grams, and orders nothing.
        form.locator("input[name=grams]").fill("1000")
        form.get_by_role("button", name="Feed now").click()
        expect(form.locator('[data-field="grams"] .errorlist')).to_contain_text("Miso may not eat 1000 g now")
        assert FeedCommand.objects.filter(feeder_id=feeder_id).count() == 1

        # Set the allowance on the pet page, then a schedule in the editor.
        page.goto(f"{server.url}/pets/{pet_id}/")
        page.fill("#id_allowance_grams", "500")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".message.success")).to_contain_text("Miso is saved.")
        assert Pet.objects.get(pk=pet_id).allowance_grams == 500

        page.goto(f"{server.url}/schedules/?pet={pet_id}")
        expect(page.get_by_text("No meals scheduled yet")).to_be_visible()
        page.select_option("#id_new-feeder", label="Kitchen")
        page.fill("#id_new-times", "07:00, 18:30")
        page.get_by_label("Sat").uncheck()
        page.get_by_label("Sun").uncheck()
        page.fill("#id_new-grams", "30")
        page.get_by_role("button", name="Add the schedule").click()
        expect(page.locator(".message.success")).to_contain_text("Meals for Miso at 07:00, 18:30 are scheduled.")
        schedule = MealSchedule.objects.get(pet_id=pet_id)
        assert (schedule.times, schedule.days_of_week, schedule.grams) == (["07:00", "18:30"], [1, 2, 3, 4, 5], 30)
        expect(page.locator(".schedule").first).to_contain_text("Next meal")

        # The chart: 30 days of bars against the allowance, today's with the food eaten.
        page.goto(f"{server.url}/pets/{pet_id}/")
        chart = page.locator("svg[data-chart=daily]")
        expect(chart.locator("rect.bar")).to_have_count(30)
        expect(chart.locator("text.allowance-label")).to_have_text("allowance 500 g/day")
        today = chart.locator("rect.bar").last
        assert float(today.get_attribute("height") or 0) > 0
        expect(page.locator("svg[aria-label*='visits by Miso'] circle.visit").first).to_be_attached()

        # The device feeds Miso at its visits once no schedule does (a cat a schedule feeds does not
        # snack at the bowl): the feedings and the gauge move without a reload.
        schedule_services.schedule_update(schedule=schedule, data={"enabled": False})
        expect(page.locator("body[data-live=open]")).to_be_attached()
        gauge = page.locator(f'.pet-top [data-pet-gauge="{pet_id}"]')
        eaten = int(gauge.get_attribute("data-eaten") or 0)
        expect(page.locator('[data-live-list="feedings"] li.new').first).to_contain_text("10 g for Miso from Kitchen")
        assert int(gauge.get_attribute("data-eaten") or 0) >= eaten + 10

        a_month_of_meals(pet_id, feeder_id)  # what the chart looks like in use, for the screenshots
        screenshots(page, server, {"dashboard": "/", "pet": f"/pets/{pet_id}/", "schedules": "/schedules/"})

        # The device goes away: the feeder page shows it offline, without a reload.
        page.goto(f"{server.url}/feeders/{feeder_id}/")
        expect(page.locator("body[data-live=open]")).to_be_attached()
        expect(page.locator(f'[data-feeder-online="{feeder_id}"]')).to_have_text("online")
        device.terminate()
        expect(page.locator(f'[data-feeder-online="{feeder_id}"]')).to_have_text("offline")
    finally:
        device.kill()
        device.wait()


def test_charlie_cannot_open_alice_pages(server: AsgiServer, page: Page, alice: User, charlie: User) -> None:
    feeder = FeederFactory(owner=alice, name="Alice's kitchen")
    beacon = BeaconFactory(owner=alice, name="Alice's collar")
    pet = PetFactory(owner=alice, name="Biscuit", beacon=beacon)
    schedule = ScheduleFactory(pet=pet, feeder=feeder)
    log_in(page, server, charlie)
    expect(page.get_by_text("No pets yet")).to_be_visible()
    for path in (f"/pets/{pet.pk}/", f"/feeders/{feeder.pk}/", f"/collar-tags/{beacon.pk}/"):
        response = page.goto(server.url + path)
        assert response is not None
        assert response.status == 404, path
    for path in ("/", "/pets/", "/feeders/", "/collar-tags/", "/schedules/", "/history/"):
        page.goto(server.url + path)
        assert "Biscuit" not in page.content(), path
    # A form sent with alice's ids (as a tampered page would) changes nothing of hers.
    page.goto(f"{server.url}/schedules/")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    answer = page.request.post(
        f"{server.url}/schedules/{schedule.pk}/delete/", form={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{server.url}/schedules/"},
    )  # fmt: skip
    assert answer.status == 404
    assert MealSchedule.objects.filter(pk=schedule.pk).exists()


def test_the_gauge_reads_its_figures_again_when_its_period_ends(server: AsgiServer, page: Page, alice: User) -> None:
    pet = PetFactory(owner=alice, allowance_grams=500)
    feeder = FeederFactory(owner=alice)
    page.clock.install()  # the page's timers run on a clock the test moves
    log_in(page, server, alice)
    page.goto(f"{server.url}/pets/{pet.pk}/")
    gauge = page.locator(f'.pet-top [data-pet-gauge="{pet.pk}"]')
    expect(gauge).to_have_attribute("data-eaten", "0")
    end = dt.datetime.fromisoformat(gauge.locator("[data-gauge-end] time").get_attribute("datetime") or "")
    # Eaten with no event reaching this page: only a read of the allowance can show it.
    FeedEvent.objects.create(feeder=feeder, pet=pet, grams=40, source=FeedSource.OWNER, fed_at=timezone.now())
    expect(gauge).to_have_attribute("data-eaten", "0")
    page.clock.fast_forward(int((end - timezone.now()).total_seconds() * 1000) + 2000)  # past the period's end
    expect(gauge).to_have_attribute("data-eaten", "40")
    expect(gauge.locator("[data-gauge-remaining]")).to_have_text("460 g")
    expect(gauge.locator("svg")).to_have_attribute("aria-label", "40 g of 500 g eaten, 460 g left")


def test_pages_work_from_the_keyboard_and_remember_the_theme(server: AsgiServer, page: Page, alice: User) -> None:
    log_in(page, server, alice)
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#content")).to_be_focused()

    toggle = page.locator("[data-theme-toggle]")
    toggle.focus()
    page.keyboard.press("Enter")  # Auto -> Light
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.keyboard.press("Enter")  # Light -> Dark
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.goto(f"{server.url}/pets/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 23, 26)"  # the dark theme's --bg
    expect(page.locator(".app-nav a[aria-current=page]")).to_have_text("Pets")
