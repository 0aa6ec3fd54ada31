"""The feeder protocol over real sockets: pairing, online state, reports, feed commands,
and who may act for which feeder (alice and bob own feeders; charlie owns none of theirs)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.test import Client
from websockets.exceptions import InvalidStatus

from apps.accounts.models import User
from apps.api.tests.sockets import Socket, session_token
from apps.feeders.models import Beacon, CommandStatus, FeedCommand, Feeder, FeedEvent, FeedSource, Pet, Visit
from apps.feeders.services import access as access_services
from apps.feeders.services import commands as command_services
from apps.feeders.services import devices as device_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, owner_of
from catfeeder.testing import AsgiServer, process_env, wait_until


@dataclass
class Home:
    owner: User
    feeder: Feeder
    beacon: Beacon
    pet: Pet
    device_token: str
    app_token: str


def home(user: User, n: int) -> Home:
    feeder = FeederFactory(owner=user, mac=f"F0:00:00:00:0{n}:01")
    beacon = BeaconFactory(owner=user, mac=f"B0:00:00:00:0{n}:01")
    pet = PetFactory(owner=user, beacon=beacon, allowance_grams=100)
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, _, token = device_services.feeder_pair(code=code, mac=feeder.mac, client="127.0.0.1")
    return Home(user, feeder, beacon, pet, token, session_token(user))


@pytest.fixture
def alices(asgi_server: AsgiServer, alice: User) -> Home:
    return home(alice, 1)


@pytest.fixture
def bobs(asgi_server: AsgiServer, bob: User) -> Home:
    return home(bob, 2)


def device(server: AsgiServer, at: Home) -> Socket:
    return Socket(f"{server.ws_url}/ws/device/", {"Authorization": f"Bearer {at.device_token}"})


def owner(server: AsgiServer, at: Home | str) -> Socket:
    token = at if isinstance(at, str) else at.app_token
    return Socket(f"{server.ws_url}/ws/app/", {"X-Session-Token": token})


def online(feeder: Feeder) -> bool:
    feeder.refresh_from_db()
    return feeder.is_online


# -- connecting ------------------------------------------------------------------------------
def test_a_device_with_its_token_in_the_header_is_online_and_its_owner_hears_it(
    asgi_server: AsgiServer, alices: Home
) -> None:
    with owner(asgi_server, alices) as app, device(asgi_server, alices) as feeder:
        welcome = feeder.call("Hello", firmware="2.1.0", ip="192.168.1.20")
        assert welcome["type"] == "Welcome"
        assert welcome["feeder_id"] == alices.feeder.pk
        assert app.expect("FeederStatus", online=True)["feeder_id"] == alices.feeder.pk
        assert app.expect("FeederStatus", firmware_version="2.1.0")
        assert online(alices.feeder)
    wait_until(lambda: not online(alices.feeder), timeout=10, what="offline after the socket closed")


def test_a_device_pairs_over_the_socket_and_is_then_its_feeder(asgi_server: AsgiServer, alice: User) -> None:
    feeder = FeederFactory(owner=alice, mac="F0:00:00:00:09:01")
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    with Socket(f"{asgi_server.ws_url}/ws/device/") as socket:
        assert socket.call("Hello", firmware="1.0")["code"] == "unauthenticated"
        paired = socket.call("Pair", code=code, mac="f0-00-00-00-09-01")
        assert paired["type"] == "Paired"
        assert paired["feeder_id"] == feeder.pk
        assert socket.call("Hello", firmware="1.0")["type"] == "Welcome"
    with Socket(f"{asgi_server.ws_url}/ws/device/", {"Authorization": f"Bearer {paired['token']}"}) as again:
        assert again.call("Heartbeat", food_level_percent=40)["type"] == "Ack"


def test_a_code_tried_too_often_answers_rate_limited_with_retry_after_on_the_socket(
    asgi_server: AsgiServer, alice: User
) -> None:
    feeder = FeederFactory(owner=alice, mac="F0:00:00:00:09:02")
    device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    wrong = "".join(secrets.choice(device_services.PAIRING_ALPHABET) for _ in range(8))  # new in the shared Redis
    with Socket(f"{asgi_server.ws_url}/ws/device/") as socket:
        codes = [socket.call("Pair", code=wrong, mac=feeder.mac)["code"] for _ in range(6)]
        assert codes == ["pairing_failed"] * 5 + ["rate_limited"]  # five tries per code
        assert 1 <= socket.call("Pair", code=wrong, mac=feeder.mac)["retry_after"] <= 600


def test_firmware_without_headers_authenticates_with_a_first_message(asgi_server: AsgiServer, alices: Home) -> None:
    with Socket(f"{asgi_server.ws_url}/ws/device/") as socket:
        assert socket.call("Authenticate", token=alices.device_token) == {
            "type": "Authenticated", "id": "r1", "caller": "device", "feeder_id": alices.feeder.pk,
        }  # fmt: skip
        assert socket.call("Visit", beacon_mac=alices.beacon.mac)["type"] == "Ack"


def test_a_wrong_token_in_a_message_is_an_error_then_a_close(asgi_server: AsgiServer, alices: Home) -> None:
    with Socket(f"{asgi_server.ws_url}/ws/device/") as socket:
        assert socket.call("Authenticate", token=alices.device_token + "x")["code"] == "unauthenticated"
        assert socket.close_code() == 4401


@pytest.mark.parametrize("authorization", ["Bearer cfd_000000000000_nope", "Bearer ", "Basic abc"])
def test_a_wrong_token_in_the_header_refuses_the_handshake(asgi_server: AsgiServer, authorization: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        Socket(f"{asgi_server.ws_url}/ws/device/", {"Authorization": authorization})
    assert refused.value.response.status_code == 403


# -- reports -------------------------------------------------------------------------------------
def test_visits_decisions_and_feedings_are_recorded_and_told_to_the_owner(
    asgi_server: AsgiServer, alices: Home
) -> None:
    with owner(asgi_server, alices) as app, device(asgi_server, alices) as feeder:
        assert feeder.call("Visit", beacon_mac=alices.beacon.mac)["type"] == "Ack"
        assert app.expect("VisitRecorded")["pet_id"] == alices.pet.pk

        decision = feeder.call("MayFeed", beacon_mac=alices.beacon.mac, grams=30)
        assert (decision["allowed"], decision["grams"], decision["remaining_grams"]) == (True, 30, 100)

        for _ in range(2):  # the same event id twice: one feeding
            assert feeder.call("Fed", beacon_mac=alices.beacon.mac, grams=30, event_id="ev-1")["type"] == "Ack"
        assert app.expect("FedRecorded")["grams"] == 30
        assert FeedEvent.objects.filter(feeder=alices.feeder).count() == 1

        assert feeder.call("MayFeed", beacon_mac=alices.beacon.mac)["remaining_grams"] == 70
        over = feeder.call("Fed", beacon_mac=alices.beacon.mac, grams=80, event_id="ev-2")
        assert over["code"] == "allowance_exceeded"


def test_may_feed_refuses_a_pet_kept_off_this_feeder_with_its_reason_and_records_the_visit(
    asgi_server: AsgiServer, alices: Home
) -> None:
    access_services.feeder_pets_set(feeder=alices.feeder, pets=[])
    with owner(asgi_server, alices) as app, device(asgi_server, alices) as feeder:
        assert feeder.call("Visit", beacon_mac=alices.beacon.mac)["type"] == "Ack"
        assert app.expect("VisitRecorded")["pet_id"] == alices.pet.pk
        decision = feeder.call("MayFeed", beacon_mac=alices.beacon.mac, grams=30)
        assert decision == {
            **decision, "type": "FeedDecision", "allowed": False, "grams": 0, "pet_id": alices.pet.pk,
            "remaining_grams": 100, "reason": "not_allowed_at_feeder",
        }  # fmt: skip
        unknown = feeder.call("MayFeed", beacon_mac="B0:00:00:00:FF:FF")
        assert (unknown["allowed"], unknown["reason"]) == (False, "unknown_tag")
    assert Visit.objects.get(feeder=alices.feeder).pet == alices.pet


def test_heartbeats_keep_the_food_level(asgi_server: AsgiServer, alices: Home) -> None:
    with device(asgi_server, alices) as feeder:
        assert feeder.call("Heartbeat", food_level_percent=35, signal_dbm=-61)["type"] == "Ack"
    alices.feeder.refresh_from_db()
    assert (alices.feeder.food_level_percent, alices.feeder.signal_dbm) == (35, -61)


# -- feed commands ----------------------------------------------------------------------------------
def test_feed_now_from_rest_reaches_the_online_device_and_its_result_completes_it(
    asgi_server: AsgiServer, alices: Home
) -> None:
    with owner(asgi_server, alices) as app, device(asgi_server, alices) as feeder:
        feeder.call("Hello", firmware="1.0")
        response = requests.post(
            f"{asgi_server.url}/api/feeders/{alices.feeder.pk}/feed", json={"grams": 20, "pet_id": alices.pet.pk},
            headers={"X-Session-Token": alices.app_token}, timeout=10,
        )  # fmt: skip
        assert response.status_code == 202
        command_id = response.json()["id"]
        assert feeder.expect("FeedNow") == {
            "type": "FeedNow",
            "command_id": command_id,
            "grams": 20,
            "pet_id": alices.pet.pk,
            "slot": None,  # a "feed now", not a scheduled meal
        }
        assert app.expect("CommandStatus", status="sent")["command_id"] == command_id

        for _ in range(2):  # a repeated result changes nothing
            result = feeder.call("CommandResult", command_id=command_id, status="done", grams_dispensed=20)
            assert result["type"] == "Ack"
        assert app.expect("CommandStatus", status="done")["grams_dispensed"] == 20

    command = FeedCommand.objects.get(pk=command_id)
    assert (command.status, command.grams_dispensed, command.attempts) == (CommandStatus.DONE, 20, 1)
    assert FeedEvent.objects.filter(command=command).count() == 1


def test_feed_now_from_the_owner_socket_reaches_the_device(asgi_server: AsgiServer, alices: Home) -> None:
    with owner(asgi_server, alices) as app, device(asgi_server, alices) as feeder:
        feeder.call("Hello", firmware="1.0")
        status = app.call("FeederFeed", feeder_id=alices.feeder.pk, grams=10)
        assert (status["type"], status["status"]) == ("CommandStatus", "pending")
        assert feeder.expect("FeedNow")["command_id"] == status["command_id"]


def test_an_offline_feeder_gets_its_open_commands_once_on_each_reconnect(asgi_server: AsgiServer, alices: Home) -> None:
    first = command_services.feed_command_create(feeder=alices.feeder, grams=5, source=FeedSource.OWNER)
    second = command_services.feed_command_create(feeder=alices.feeder, grams=6, source=FeedSource.OWNER)
    for attempt in (1, 2):
        with device(asgi_server, alices) as feeder:
            got = [feeder.expect("FeedNow")["command_id"], feeder.expect("FeedNow")["command_id"]]
            assert sorted(got) == sorted([first.pk, second.pk])
            feeder.call("Multiply", x=1, y=1)  # later than any duplicate the server would have sent
            assert [f for f in feeder.pushes if f["type"] == "FeedNow"] == []
        assert FeedCommand.objects.get(pk=first.pk).attempts == attempt
    with device(asgi_server, alices) as feeder:
        done = feeder.expect("FeedNow")["command_id"]
        feeder.call("CommandResult", command_id=done, status="failed", error="jammed")
    with device(asgi_server, alices) as feeder:
        assert feeder.expect("FeedNow")["command_id"] != done  # a closed command is not sent again


# -- tokens ------------------------------------------------------------------------------------------
def test_revoking_the_token_closes_the_devices_socket(asgi_server: AsgiServer, alices: Home) -> None:
    with device(asgi_server, alices) as feeder:
        feeder.call("Hello", firmware="1.0")
        response = requests.delete(
            f"{asgi_server.url}/api/feeders/{alices.feeder.pk}/token", headers={"X-Session-Token": alices.app_token},
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 204
        assert feeder.close_code(timeout=5) == 4401
    with pytest.raises(InvalidStatus):
        device(asgi_server, alices)


def test_a_token_revoked_by_another_process_is_refused_at_the_next_handshake(
    asgi_server: AsgiServer, alices: Home
) -> None:
    with device(asgi_server, alices) as feeder:  # signed in once: the server has looked the token up
        assert feeder.call("Hello", firmware="1.0")["type"] == "Welcome"
    device_services.device_token_revoke(feeder=alices.feeder)  # this process, not the server's
    with pytest.raises(InvalidStatus):
        device(asgi_server, alices)


def test_a_hello_after_the_owner_removed_the_feeder_is_not_found(asgi_server: AsgiServer, alices: Home) -> None:
    with device(asgi_server, alices) as feeder:
        device_services.feeder_delete(feeder=alices.feeder)
        reply = feeder.call("Hello", firmware="1.0")  # on the row the socket read at sign-in
        assert (reply["type"], reply["code"]) == ("Error", "not_found")


def test_a_rotated_token_reaches_the_online_device(asgi_server: AsgiServer, alices: Home) -> None:
    with device(asgi_server, alices) as feeder:
        feeder.call("Hello", firmware="1.0")
        response = requests.post(
            f"{asgi_server.url}/api/feeders/{alices.feeder.pk}/token", headers={"X-Session-Token": alices.app_token},
            timeout=10,
        )  # fmt: skip
        assert response.status_code == 201
        new_token = response.json()["token"]
        assert feeder.expect("ConfigUpdate")["device_token"] == new_token
        assert feeder.call("Heartbeat")["type"] == "Ack"  # the old one works through the overlap
    alices.device_token = new_token
    with device(asgi_server, alices) as feeder:
        assert feeder.call("Heartbeat")["type"] == "Ack"


# -- who may act for which feeder ----------------------------------------------------------------------
def test_a_device_cannot_act_for_another_feeder(asgi_server: AsgiServer, alices: Home, bobs: Home) -> None:
    bobs_command = command_services.feed_command_create(feeder=bobs.feeder, grams=5, source=FeedSource.OWNER)
    with device(asgi_server, alices) as feeder:
        refused = feeder.call("CommandResult", command_id=bobs_command.pk, status="done", grams_dispensed=5)
        assert (refused["code"], refused["errors"][0]["loc"]) == ("validation", ["body", "command_id"])
        assert feeder.call("Fed", beacon_mac=bobs.beacon.mac, grams=5, event_id="x")["code"] == "validation"
        decision = feeder.call("MayFeed", beacon_mac=bobs.beacon.mac)
        assert decision == {**decision, "allowed": False, "pet_id": None, "eaten_grams": 0, "remaining_grams": 0}
        feeder.call("Visit", beacon_mac=bobs.beacon.mac)
        assert feeder.call("GetFeederStatus", feeder_id=bobs.feeder.pk)["code"] == "forbidden"
    assert FeedCommand.objects.get(pk=bobs_command.pk).status == CommandStatus.PENDING
    assert not FeedEvent.objects.filter(pet=bobs.pet).exists()
    assert Visit.objects.get(beacon_mac=bobs.beacon.mac).pet is None  # recorded at alice's, as nobody's tag


@pytest.mark.parametrize("actor", ["alice", "charlie"])
def test_owners_cannot_see_or_command_anothers_feeder(
    asgi_server: AsgiServer, alices: Home, bobs: Home, charlie: User, actor: str
) -> None:
    token = alices.app_token if actor == "alice" else session_token(charlie)
    with owner(asgi_server, token) as app:
        for name, fields in [
            ("GetFeederStatus", {"feeder_id": bobs.feeder.pk}),
            ("FeederFeed", {"feeder_id": bobs.feeder.pk, "grams": 5}),
            ("FeederFeed", {"feeder_id": alices.feeder.pk, "grams": 5, "pet_id": bobs.pet.pk}),
        ]:
            refused = app.call(name, **fields)
            assert refused["code"] == "validation", name
            assert bobs.feeder.name not in str(refused)
    assert not FeedCommand.objects.filter(feeder=bobs.feeder).exists()


def test_owners_hear_about_their_own_feeders_only(asgi_server: AsgiServer, alices: Home, bobs: Home) -> None:
    with owner(asgi_server, alices) as app, device(asgi_server, bobs) as bobs_feeder:
        bobs_feeder.call("Visit", beacon_mac=bobs.beacon.mac)
        with device(asgi_server, alices) as alices_feeder:  # sent after bob's events, to alice
            alices_feeder.call("Visit", beacon_mac=alices.beacon.mac)
            assert app.expect("VisitRecorded")["feeder_id"] == alices.feeder.pk
        seen = {frame.get("feeder_id") for frame in app.pushes}
        assert bobs.feeder.pk not in seen


# -- sockets of owners ----------------------------------------------------------------------------------
def test_the_owner_socket_refuses_a_foreign_origin(asgi_server: AsgiServer, alices: Home) -> None:
    with pytest.raises(InvalidStatus) as refused:
        Socket(f"{asgi_server.ws_url}/ws/app/", {"Origin": "https://evil.example", "X-Session-Token": alices.app_token})
    assert refused.value.response.status_code == 403


def test_a_browser_session_counts_only_with_an_allowed_origin(asgi_server: AsgiServer, alices: Home) -> None:
    browser = Client()
    browser.force_login(alices.owner)
    cookie = {"Cookie": f"sessionid={browser.cookies['sessionid'].value}"}
    with Socket(f"{asgi_server.ws_url}/ws/app/", {**cookie, "Origin": "http://127.0.0.1"}) as app:
        assert app.call("GetFeederStatus", feeder_id=alices.feeder.pk)["type"] == "FeederStatus"
    with Socket(f"{asgi_server.ws_url}/ws/app/", cookie) as app:  # no Origin: not a browser, so no cookie auth
        assert app.call("GetFeederStatus", feeder_id=alices.feeder.pk)["code"] == "unauthenticated"


# -- silence --------------------------------------------------------------------------------------------
@pytest.fixture
def impatient_server(_asgi_server: AsgiServer, transactional_db: None, process_logs: Path) -> Iterator[AsgiServer]:
    server = AsgiServer(env=process_env(FEEDER_OFFLINE_AFTER="1"), log_dir=process_logs)
    yield server
    server.stop()


def test_a_silent_device_is_closed_and_offline_after_the_timeout(impatient_server: AsgiServer, alice: User) -> None:
    alices = home(alice, 1)
    with device(impatient_server, alices) as feeder:
        feeder.call("Hello", firmware="1.0")
        assert online(alices.feeder)
        assert feeder.close_code(timeout=10) == 4408
    wait_until(lambda: not online(alices.feeder), timeout=10, what="offline")


# -- idle sockets ------------------------------------------------------------------------------------------
# redis-py 8 times a read out after 5 s by default, as long as channels_redis blocks in BZPOPMIN:
# idle sockets then lost their channel-layer listener every 5 s (settings raise the read timeout).
IDLE = 13  # seconds: more than two blocking pops of 5 s with nothing to receive


def test_idle_sockets_still_answer_and_still_hear_the_channel_layer(asgi_server: AsgiServer, alices: Home) -> None:
    with owner(asgi_server, alices) as app, device(asgi_server, alices) as feeder:
        feeder.call("Hello", firmware="1.0")
        app.expect("FeederStatus", online=True)
        log_before = len(asgi_server.output())
        time.sleep(IDLE)  # both sockets idle: no frame either way

        # Channel-layer events first, before any frame wakes the sockets up.
        response = requests.post(
            f"{asgi_server.url}/api/feeders/{alices.feeder.pk}/feed", json={"grams": 15},
            headers={"X-Session-Token": alices.app_token}, timeout=10,
        )  # fmt: skip
        assert response.status_code == 202
        assert feeder.expect("FeedNow")["command_id"] == response.json()["id"]
        assert app.expect("CommandStatus", status="sent")["command_id"] == response.json()["id"]

        assert app.call("Multiply", x=1.5, y=2.25) == {"type": "Output", "id": "r1", "value": 3.375}
        assert feeder.call("Heartbeat", food_level_percent=50)["type"] == "Ack"
        assert online(alices.feeder)
    assert "channel layer receive failed" not in asgi_server.output()[log_before:]
