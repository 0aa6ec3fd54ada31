"""Pairing codes and device tokens (services and selectors)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.api.problems import Problem
from apps.feeders.errors import Conflict, PairingFailed, PairingLimited
from apps.feeders.models import DeviceToken, Feeder, PairingCode
from apps.feeders.principals import device_sign_ins
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.services import devices as device_services
from apps.feeders.tests.factories import FeederFactory, owner_of
from conftest import unique_ip

pytestmark = pytest.mark.django_db
MAC = "F0:00:00:00:AA:01"
HOME = "192.0.2.1"  # the owner's device; the suite's own limits do not count per address
WINDOW_MIDDLE = dt.datetime(2031, 5, 6, 7, 5, tzinfo=dt.UTC)  # 5 min into a 10 min window


@pytest.fixture
def production_limits(settings: Any) -> Iterator[None]:
    """The product's limits (catfeeder/settings/base.py), on a clock held mid-window: fixed
    windows, so that a test's attempts never straddle two on a slow machine."""
    settings.PAIRING_RATE_LIMITS = ["10/10m/ip", "5/10m/key"]
    with time_machine.travel(WINDOW_MIDDLE, tick=False):
        yield


@pytest.fixture
def feeder(alice: User) -> Feeder:
    return FeederFactory(owner=alice, mac=MAC)


def test_an_owner_with_an_unverified_email_gets_no_pairing_code(alice: User) -> None:
    EmailAddress.objects.filter(user=alice).update(verified=False)
    with pytest.raises(Problem) as refused:
        device_services.pairing_code_create(feeder=FeederFactory(owner=alice), user=alice)
    assert (refused.value.status, refused.value.kind) == (403, "email-unverified")


def test_a_device_pairs_once_with_the_code_and_gets_a_token_stored_only_hashed(feeder: Feeder) -> None:
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)

    paired, device_token, token = device_services.feeder_pair(code=code.lower().replace("-", " "), mac=MAC, client=HOME)

    assert paired == feeder
    assert device_selectors.device_token_authenticate(token=token) == (feeder, device_token)
    secret = token.split("_", 2)[2]
    assert secret not in str(list(DeviceToken.objects.values()))
    assert code.replace("-", "") not in str(list(PairingCode.objects.values()))
    with pytest.raises(PairingFailed):
        device_services.feeder_pair(code=code, mac=MAC, client=HOME)  # single use


def test_a_code_is_dead_after_ten_minutes(feeder: Feeder) -> None:
    now = timezone.now()
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder), now=now)
    with pytest.raises(PairingFailed):
        device_services.feeder_pair(code=code, mac=MAC, client=HOME, now=now + dt.timedelta(minutes=10, seconds=1))
    device_services.feeder_pair(code=code, mac=MAC, client=HOME, now=now + dt.timedelta(minutes=9, seconds=59))


def wrong_codes(count: int) -> list[str]:
    """Random codes of the right shape: not the feeder's, and each new (the limit counts per code too,
    in the shared Redis that outlives a test run)."""
    return ["".join(secrets.choice(device_services.PAIRING_ALPHABET) for _ in range(8)) for _ in range(count)]


def test_a_strangers_wrong_codes_do_not_spoil_the_owners_code(feeder: Feeder, production_limits: None) -> None:
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    stranger = unique_ip()
    for wrong in wrong_codes(10):
        with pytest.raises(PairingFailed):
            device_services.feeder_pair(code=wrong, mac=MAC, client=stranger)
    with pytest.raises(PairingLimited):  # the stranger's address is spent, for every feeder
        device_services.feeder_pair(code=wrong_codes(1)[0], mac=MAC, client=stranger)
    assert device_services.feeder_pair(code=code, mac=MAC, client=unique_ip())[0] == feeder
    assert PairingCode.objects.get(feeder=feeder).attempts == 10  # recorded for the admin, not held against it


def test_an_address_over_its_limit_is_refused_even_the_right_code_until_the_window_ends(
    feeder: Feeder, production_limits: None
) -> None:
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    ip = unique_ip()
    for wrong in wrong_codes(10):
        with pytest.raises(PairingFailed):
            device_services.feeder_pair(code=wrong, mac=MAC, client=ip)
    with pytest.raises(PairingLimited) as refused:
        device_services.feeder_pair(code=code, mac=MAC, client=ip)
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "300"  # the clock is held mid-window
    with time_machine.travel(WINDOW_MIDDLE + dt.timedelta(seconds=300), tick=False):
        assert device_services.feeder_pair(code=code, mac=MAC, client=ip)[0] == feeder


def test_one_code_is_tried_five_times_whatever_the_address_or_feeder(feeder: Feeder, production_limits: None) -> None:
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    for n in range(5):
        with pytest.raises(PairingFailed):
            device_services.feeder_pair(code=code, mac=f"F0:00:00:00:BB:0{n}", client=unique_ip())
    with pytest.raises(PairingLimited):
        device_services.feeder_pair(code=code, mac=MAC, client=unique_ip())


def test_a_pairing_over_the_limit_answers_429_with_retry_after_over_http(
    feeder: Feeder, production_limits: None
) -> None:
    ip = unique_ip()

    def pair(code: str) -> Any:
        body = {"code": code, "mac": MAC}
        return Client().post("/api/messages/Pair", body, content_type="application/json", REMOTE_ADDR=ip)

    assert [pair(wrong).status_code for wrong in wrong_codes(10)] == [422] * 10
    refused = pair(wrong_codes(1)[0])
    assert refused.status_code == 429
    assert refused["Retry-After"] == "300"
    assert refused.json()["type"] == "urn:catfeeder:problem:rate-limited"


def test_the_code_works_only_with_the_feeders_own_mac(feeder: Feeder) -> None:
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    with pytest.raises(PairingFailed):
        device_services.feeder_pair(code=code, mac="F0:00:00:00:AA:02", client=HOME)


def test_a_new_code_replaces_the_one_before(feeder: Feeder) -> None:
    _, first = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, second = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    with pytest.raises(PairingFailed):
        device_services.feeder_pair(code=first, mac=MAC, client=HOME)
    device_services.feeder_pair(code=second, mac=MAC, client=HOME)


def paired_token(feeder: Feeder) -> str:
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    return device_services.feeder_pair(code=code, mac=feeder.mac, client=HOME)[2]


def test_after_a_rotation_old_and_new_tokens_work_for_the_overlap_only(feeder: Feeder) -> None:
    old = paired_token(feeder)
    now = timezone.now()
    rotated = device_services.device_token_rotate(feeder=feeder, now=now)
    new = rotated.token
    assert rotated.previous_valid_until == now + dt.timedelta(minutes=10)

    later = now + dt.timedelta(minutes=9)
    assert device_selectors.device_token_authenticate(token=old, now=later) is not None
    assert device_selectors.device_token_authenticate(token=new, now=later) is not None
    after = now + dt.timedelta(minutes=11)
    assert device_selectors.device_token_authenticate(token=old, now=after) is None
    assert device_selectors.device_token_authenticate(token=new, now=after) is not None


def test_an_unpaired_feeder_has_no_token_to_rotate(feeder: Feeder) -> None:
    with pytest.raises(Conflict):
        device_services.device_token_rotate(feeder=feeder)


def test_revoking_ends_every_token_of_the_feeder_at_once(feeder: Feeder) -> None:
    old = paired_token(feeder)
    new = device_services.device_token_rotate(feeder=feeder).token
    assert device_services.device_token_revoke(feeder=feeder) == 2
    assert device_selectors.device_token_authenticate(token=old) is None
    assert device_selectors.device_token_authenticate(token=new) is None


def test_pairing_again_revokes_the_previous_devices_token(feeder: Feeder) -> None:
    first = paired_token(feeder)
    second = paired_token(feeder)
    assert device_selectors.device_token_authenticate(token=first) is None
    assert device_selectors.device_token_authenticate(token=second) is not None


@pytest.mark.parametrize("token", ["", "cfd_", "cfd__x", "nope", "cfd_abc_def", "Bearer cfd_x_y"])
def test_a_malformed_or_unknown_token_authenticates_nothing(feeder: Feeder, token: str) -> None:
    paired_token(feeder)
    assert device_selectors.device_token_authenticate(token=token) is None


def test_an_operator_revokes_a_feeders_tokens_from_the_admin(feeder: Feeder) -> None:
    token = paired_token(feeder)
    operator = User.objects.create_superuser(email="operator@example.com", password="not-used-here-9")
    client = Client()
    client.force_login(operator)
    listing = client.get("/admin/feeders/devicetoken/")
    assert listing.status_code == 200
    assert "secret_hash" not in listing.content.decode()
    selected = list(DeviceToken.objects.filter(feeder=feeder).values_list("pk", flat=True))
    response = client.post(
        "/admin/feeders/devicetoken/", {"action": "revoke_feeders_tokens", "_selected_action": selected}
    )
    assert response.status_code == 302
    assert device_selectors.device_token_authenticate(token=token) is None


def test_tokens_looked_up_together_each_get_their_own_answer(feeder: Feeder, bob: User) -> None:
    live = paired_token(feeder)
    other = FeederFactory(owner=bob, mac="F0:00:00:00:BB:01")
    revoked = paired_token(other)
    device_services.device_token_revoke(feeder=other)
    wrong_secret = live.rsplit("_", 1)[0] + "_not-the-secret"
    tokens = [live, revoked, wrong_secret, "cfd__x", "cfd_000000000000_unknown", live]

    found = device_selectors.device_tokens_authenticate(tokens=tokens)

    assert [None if f is None else f[0] for f in found] == [feeder, None, None, None, None, feeder]


def test_the_same_feeder_signing_in_twice_at_once_gets_a_row_per_socket(feeder: Feeder) -> None:
    token = paired_token(feeder)
    first, second = device_sign_ins([token, token])
    assert first is not None
    assert second is not None
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert first[1] is not second[1]  # each socket marks its own connection on its own row
