"""Every time an owner reads follows one rule, in Chromium, served and inserted live.

The browser runs in Asia/Tokyo, the owner lives in America/New_York and the cat
in Europe/Paris: three zones, so a time written in the wrong one cannot pass by
chance. The rule: a time is written "Sun 6 Dec 13:45" in the owner's zone; a time
of the pet's period or of a schedule is written in the pet's zone and followed by
"(Europe/Paris)". The expected text is computed here, not with the app's helper.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.feeders.models import Feeder, MealSchedule, Pet
from apps.feeders.services import pets as pet_services
from apps.feeders.services import presence
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory
from catfeeder.testing import AsgiServer, process_env

pytestmark = pytest.mark.xdist_group("web_tz")  # one server and one Chromium for the module

OWNER_ZONE, PET_ZONE, BROWSER_ZONE = "America/New_York", "Europe/Paris", "Asia/Tokyo"
COLLAR_MAC = "5C:00:00:00:0B:01"
TIMEOUT = 30_000  # ms for anything that waits on the server
HHMM = re.compile(r"\b\d{1,2}:\d{2}\b")
# A run of schedule times ("07:00, 18:30") must be followed by the zone they are in.
LABELLED_RUN = re.compile(rf"\d{{2}}:\d{{2}}(?:, \d{{2}}:\d{{2}})*\)? \({re.escape(PET_ZONE)}\)")

# Every <time> in the page's content, and the content's text outside <time>, SVG and form help.
READ_PAGE = """() => {
  const root = document.querySelector("#content");
  const times = [...root.querySelectorAll("time")].map(t => ({
    iso: t.getAttribute("datetime"), zone: t.dataset.zone || null, text: t.textContent,
    live: !!t.closest("li.new"),
  }));
  const copy = root.cloneNode(true);
  copy.querySelectorAll("time, svg, script, .helptext, [id$=_helptext], input, select, textarea").forEach(
    el => el.remove());
  return { times, rest: copy.textContent.replace(/\\s+/g, " ") };
}"""

# Each visit of the timeline chart: its row's day label and its x (TIMELINE_LEFT + minutes / 2).
VISIT_MARKS = """() => [...document.querySelectorAll("svg circle.visit")].map(c => {
  const row = c.getAttribute("cy");
  const label = [...c.parentNode.querySelectorAll("text[dy='6']")].find(t => t.getAttribute("y") === row);
  return [label.textContent, Number(c.getAttribute("cx"))];
})"""
TIMELINE_LEFT = 120  # the chart's x of midnight (apps/web/charts.py)


def written(iso: str, zone: str) -> str:
    local = dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def check_page(page: Page, *, live: bool = False) -> list[dict[str, Any]]:
    """Each time on the page against the rule; the times read, for the caller's own checks."""
    read = page.evaluate(READ_PAGE)
    for time in read["times"]:
        if time["zone"] is None:
            assert time["text"] == written(time["iso"], OWNER_ZONE), time
        else:
            assert time["zone"] == PET_ZONE, time
            assert time["text"] == f"{written(time['iso'], PET_ZONE)} ({PET_ZONE})", time
    stray = [m for m in HHMM.finditer(read["rest"]) if not LABELLED_RUN.match(read["rest"], m.start())]
    unlabelled = [read["rest"][max(m.start() - 40, 0) : m.end() + 40] for m in stray]
    # Times outside <time> are a schedule's or a pet period's local times: each carries its zone.
    assert not unlabelled, unlabelled
    if live:
        assert any(t["live"] for t in read["times"]), "no row was inserted live"
    return read["times"]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop on this thread, and Django refuses ORM
    # calls while one runs; the test's queries run between browser steps, never during one.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def _web_server(django_db_setup: None, process_logs: Path) -> Iterator[AsgiServer]:
    server = AsgiServer(env=process_env(), log_dir=process_logs)
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(timezone_id=BROWSER_ZONE, locale="en-US")
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def off_the_loop(action: Callable[[], object]) -> None:
    """Run a service on another thread: its events go out through async_to_sync, which
    refuses the thread where Playwright's event loop lives."""

    def run() -> None:
        try:
            action()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(run).result()


def meal(feeder: Feeder, grams: int, *, at: dt.datetime | None = None) -> None:
    """The feeder reports food eaten by the collar's pet (the path that tells the owner's pages)."""
    pet_services.feeder_fed(feeder=feeder, beacon_mac=COLLAR_MAC, grams=grams, event_id=uuid.uuid4().hex, now=at)


def log_in(page: Page, server: AsgiServer, user: User) -> None:
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_login", user.email)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("body[data-live=open]")).to_be_attached()


def open_live(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator("body[data-live=open]")).to_be_attached()


def test_every_time_an_owner_reads_is_in_their_zone_or_labelled_with_the_pet_s(
    server: AsgiServer, page: Page, alice: User
) -> None:
    alice.time_zone = OWNER_ZONE
    alice.save(update_fields=["time_zone"])
    beacon = BeaconFactory(owner=alice, mac=COLLAR_MAC)
    feeder = FeederFactory(owner=alice, time_zone=PET_ZONE)
    pet: Pet = PetFactory(
        owner=alice, name="Miso", beacon=beacon, time_zone=PET_ZONE, allowance_grams=500,
        period_anchor=dt.time(6, 0), period_minutes=1440,
    )  # fmt: skip
    schedule = MealSchedule.objects.create(
        pet=pet, feeder=feeder, times=["07:00", "18:30"], days_of_week=[1, 2, 3, 4, 5, 6, 7], grams=20,
        time_zone=PET_ZONE, next_run_at=timezone.now() + dt.timedelta(hours=5),
    )  # fmt: skip
    # Just after midnight UTC: another day in New York, Paris and Tokyo than in UTC for some of them.
    earlier = timezone.now().replace(hour=0, minute=20, second=0, microsecond=0) - dt.timedelta(days=1)
    off_the_loop(lambda: meal(feeder, 15, at=earlier))
    off_the_loop(lambda: presence.visit_record(feeder=feeder, beacon_mac=COLLAR_MAC, now=earlier))
    off_the_loop(lambda: presence.feeder_hello(feeder=feeder, firmware="1.0", ip=None, now=earlier))

    log_in(page, server, alice)
    assert page.evaluate("document.body.dataset.timeZone") == OWNER_ZONE
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == BROWSER_ZONE

    # As served: the dashboard (rows, the feeder's last contact, the gauge's reset).
    times = check_page(page)
    gauge = [t for t in times if t["zone"]]
    assert gauge, "the gauge's reset is a time of the pet's period, labelled with its zone"
    assert sum(1 for t in times if t["iso"] and t["zone"] is None) >= 3  # visit, feeding, last seen

    # Inserted live: a visit, a meal and the feeder's hello reach the open dashboard.
    off_the_loop(lambda: presence.visit_record(feeder=feeder, beacon_mac=COLLAR_MAC))
    off_the_loop(lambda: meal(feeder, 10))
    expect(page.locator('[data-live-list="visits"] li.new')).to_have_count(1)
    expect(page.locator('[data-live-list="feedings"] li.new')).to_have_count(1)
    off_the_loop(lambda: presence.feeder_hello(feeder=feeder, firmware="1.1", ip=None))
    seen = page.locator(f'[data-feeder-seen="{feeder.pk}"] time')
    expect(seen).not_to_have_attribute("datetime", earlier.isoformat())
    check_page(page, live=True)

    # The pet page: rows, gauge, the schedules' local times, the period's start as 24-hour HH:MM.
    open_live(page, f"{server.url}/pets/{pet.pk}/")
    check_page(page)
    # The visits chart: the earlier visit sits on the owner's day, at the owner's time of day.
    local = earlier.astimezone(ZoneInfo(OWNER_ZONE))
    marks = page.evaluate(VISIT_MARKS)
    assert [f"{local:%a} {local.day}", TIMELINE_LEFT + (local.hour * 60 + local.minute) / 2] in marks, marks
    expect(page.locator("#id_period_anchor")).to_have_value("06:00")
    assert page.locator("#id_period_anchor").get_attribute("type") != "time"  # no "06:00 AM" by locale
    off_the_loop(lambda: meal(feeder, 5))
    expect(page.locator('[data-live-list="feedings"] li.new')).to_have_count(1)
    check_page(page, live=True)

    # A refusal over the allowance names its end in the pet's zone, labelled.
    page.select_option('[data-feed-now] [name="feeder"]', str(feeder.pk))
    page.fill('[data-feed-now] [name="grams"]', "490")
    page.locator("[data-feed-now] button[type=submit]").click()
    problem = page.locator("[data-feed-now] .errorlist.live")
    expect(problem).to_contain_text("until")
    end = [t for t in check_page(page) if t["zone"]][0]["iso"]
    expect(problem).to_contain_text(f"until {written(end, PET_ZONE)} ({PET_ZONE}).")

    # The schedule page: the next meal is a time of the schedule, in its zone.
    open_live(page, f"{server.url}/schedules/")
    times = check_page(page)
    assert [t["iso"] for t in times if t["zone"]] == [schedule.next_run_at.isoformat()]
    expect(page.locator(f"#schedule-{schedule.pk}")).to_contain_text(f"times in {PET_ZONE}")

    # History, served and live.
    open_live(page, f"{server.url}/history/")
    check_page(page)
    off_the_loop(lambda: presence.visit_record(feeder=feeder, beacon_mac=COLLAR_MAC))
    off_the_loop(lambda: meal(feeder, 5))
    expect(page.locator('[data-live-list="visits"] li.new')).to_have_count(1)
    expect(page.locator('[data-live-list="feedings"] li.new')).to_have_count(1)
    check_page(page, live=True)
