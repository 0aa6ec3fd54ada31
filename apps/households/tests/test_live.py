"""Live events over real sockets: every member of a household hears its feeders, and a member who
is removed stops hearing them at once, on the sockets already open."""

from __future__ import annotations

from django.test import Client

from apps.accounts.models import User
from apps.api.tests.sockets import Socket, session_token
from apps.feeders import events
from apps.feeders.tests.factories import FeederFactory
from apps.feeders.tests.test_device_socket import device, home
from apps.households.roles import Role
from apps.households.services import household_create
from apps.households.tests.factories import member_add
from catfeeder.testing import AsgiServer, wait_until


def app_socket(server: AsgiServer, user: User) -> Socket:
    return Socket(f"{server.ws_url}/ws/app/", {"X-Session-Token": session_token(user)})


def test_every_member_hears_the_household_and_a_removed_one_stops_at_once(
    asgi_server: AsgiServer, alice: User, bob: User, charlie: User
) -> None:
    alices = home(alice, 1)
    household = alices.feeder.household
    member_add(household, bob, Role.MEMBER)
    member_add(household, charlie, Role.VIEWER)
    bobs_own = FeederFactory(household=household_create(user=bob), name="Bob's")
    with (
        app_socket(asgi_server, bob) as bobs_app,
        app_socket(asgi_server, charlie) as charlies_app,
        device(asgi_server, alices) as feeder,
    ):
        feeder.call("Visit", beacon_mac=alices.beacon.mac)
        assert bobs_app.expect("VisitRecorded")["feeder_id"] == alices.feeder.pk
        assert charlies_app.expect("VisitRecorded")["feeder_id"] == alices.feeder.pk

        as_alice = Client()
        as_alice.force_login(alice)
        assert as_alice.delete(f"/api/households/{household.pk}/members/{bob.pk}").status_code == 204
        feeder.call("Visit", beacon_mac=alices.beacon.mac)
        assert charlies_app.expect("VisitRecorded", feeder_id=alices.feeder.pk)
        events.feeder_changed(bobs_own)  # sent after the visit: once bob hears it, the visit is past
        assert bobs_app.expect("FeederStatus", feeder_id=bobs_own.pk)
        assert "VisitRecorded" not in {frame["type"] for frame in bobs_app.pushes}


def test_a_socket_open_before_joining_a_household_hears_it_after(asgi_server: AsgiServer, bob: User) -> None:
    with app_socket(asgi_server, bob) as bobs_app:
        joined = household_create(user=bob)  # tells bob's open sockets to listen to it
        feeder = FeederFactory(household=joined)

        def heard() -> bool:
            # The socket joins the group when it reads the news: a status sent before then is not
            # for it (the channel layer keeps nothing for a group a socket is not in yet).
            events.feeder_changed(feeder)
            try:
                bobs_app.expect("FeederStatus", timeout=0.5, feeder_id=feeder.pk)
            except TimeoutError:
                return False
            return True

        wait_until(heard, timeout=15, what="bob's open socket hears his new household")
