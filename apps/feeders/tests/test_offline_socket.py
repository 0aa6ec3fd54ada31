"""A feeder that keeps its schedule, over real sockets: ScheduleSync after Welcome and after each edit,
ScheduleAck, FeedNow naming its slot, and a slot served offline uploaded as Fed{slot, local}."""

from __future__ import annotations

import datetime as dt

from apps.accounts.models import User
from apps.api.tests.sockets import Socket
from apps.feeders.models import CommandStatus, FeedCommand, Feeder, FeedEvent
from apps.feeders.services import devices as device_services
from apps.feeders.services import schedules as schedule_services
from apps.feeders.tests.factories import FeederFactory, PetFactory, owner_of
from catfeeder.testing import AsgiServer, wait_until

LOCAL = ["local_schedule"]


def paired(user: User) -> tuple[Feeder, str]:
    feeder = FeederFactory(owner=user, mac="F0:00:00:00:07:01")
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, _, token = device_services.feeder_pair(code=code, mac=feeder.mac, client="127.0.0.1")
    return feeder, token


def device(server: AsgiServer, token: str) -> Socket:
    return Socket(f"{server.ws_url}/ws/device/", {"Authorization": f"Bearer {token}"})


def test_a_feeder_that_keeps_its_schedule_gets_it_after_welcome_and_after_each_edit(
    asgi_server: AsgiServer, alice: User
) -> None:
    feeder, token = paired(alice)
    pet = PetFactory(owner=alice)
    meal = schedule_services.schedule_create(
        pet=pet, feeder=feeder, times=["18:00", "07:30"], days_of_week=[1, 2, 3], grams=20, time_zone="Europe/Paris"
    )
    with device(asgi_server, token) as socket:
        now = dt.datetime.now(dt.UTC)
        welcome = socket.call("Hello", firmware="2.0", capabilities=LOCAL, device_time=now.isoformat())
        assert welcome["type"] == "Welcome", welcome
        sync = socket.expect("ScheduleSync")
        first = {k: sync["meals"][0][k] for k in ("key", "time", "days", "grams", "pet_id", "time_zone")}
        assert first == {
            "key": f"{meal.pk}.0", "time": "07:30", "days": [1, 2, 3], "grams": 20, "pet_id": pet.pk,
            "time_zone": "Europe/Paris",
        }  # fmt: skip
        assert [m["key"] for m in sync["meals"]] == [f"{meal.pk}.0", f"{meal.pk}.1"]
        assert socket.call("ScheduleAck", version=sync["version"])["type"] == "Ack"
        schedule_services.schedule_update(schedule=meal, data={"grams": 25})
        assert socket.expect("ScheduleSync", version=sync["version"] + 1)["meals"][0]["grams"] == 25
    feeder.refresh_from_db()
    assert (feeder.local_schedule, feeder.schedule_acked_version) == (True, sync["version"])
    assert feeder.clock_offset is not None


def test_a_feeder_without_the_capability_gets_no_schedule(asgi_server: AsgiServer, alice: User) -> None:
    feeder, token = paired(alice)
    with device(asgi_server, token) as socket:
        assert socket.call("Hello", firmware="1.0")["type"] == "Welcome"
        assert socket.call("Heartbeat")["type"] == "Ack"
        assert [f for f in socket.pushes if f["type"] == "ScheduleSync"] == []


def test_a_slot_served_offline_is_uploaded_once_and_its_feed_now_answered_as_done(
    asgi_server: AsgiServer, alice: User
) -> None:
    feeder, token = paired(alice)
    pet = PetFactory(owner=alice, allowance_grams=100)
    meal = schedule_services.schedule_create(
        pet=pet, feeder=feeder, times=["07:30"], days_of_week=[1, 2, 3, 4, 5, 6, 7], grams=20, time_zone="UTC"
    )
    slot_at = dt.datetime.now(dt.UTC).replace(hour=7, minute=30, second=0, microsecond=0)
    key = f"{meal.pk}.0@{slot_at.date().isoformat()}"
    # The dispatcher wrote the slot while the feeder was away; it served it on its own meanwhile.
    command = FeedCommand.objects.create(
        feeder=feeder, pet=pet, grams=20, source="schedule", schedule=meal, slot_at=slot_at, slot_key=key,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10),
    )  # fmt: skip
    with device(asgi_server, token) as socket:
        assert socket.expect("FeedNow", command_id=command.pk)["slot"] == key  # sent at connect
        now = dt.datetime.now(dt.UTC)
        socket.call("Hello", firmware="2.0", capabilities=LOCAL, device_time=now.isoformat())
        fed_at = now - dt.timedelta(hours=1)  # by the device's clock, which Hello found right
        fed = {"slot": key, "grams": 20, "event_id": "offline-1", "fed_at": fed_at.isoformat(), "local": True}
        for _ in range(2):  # uploaded twice
            reply = socket.call("Fed", **fed)
            assert reply["type"] == "Ack", reply
        result = socket.call("CommandResult", command_id=command.pk, status="done", grams_dispensed=20)
        assert result["type"] == "Ack"
        assert socket.call("Fed", beacon_mac="B0:00:00:00:00:01", slot=key, grams=20, event_id="x")["code"] == (
            "validation"
        )
    command.refresh_from_db()
    assert (command.status, command.local) == (CommandStatus.DONE, True)
    event = FeedEvent.objects.get()
    assert event.offline
    assert abs((event.fed_at - fed_at).total_seconds()) < 5  # corrected by the offset Hello measured
    wait_until(lambda: not Feeder.objects.get(pk=feeder.pk).is_online, timeout=10, what="offline")
