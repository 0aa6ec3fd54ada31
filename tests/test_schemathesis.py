"""schemathesis over the whole OpenAPI document, against the real server.

Every check, authenticated as an owner with data, with a bounded example
budget so the run stays short: no server errors, every response as documented.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.feeders.services import devices as device_services
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory, owner_of
from catfeeder.testing import AsgiServer, api_schema

EXAMPLES_PER_OPERATION = 25


def login(server: AsgiServer, user: User) -> str:
    request = urllib.request.Request(  # noqa: S310 - loopback URL
        f"{server.url}/_allauth/app/v1/auth/login",
        data=json.dumps({"email": user.email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL
        return str(json.load(response)["meta"]["session_token"])


# Log-outs end the token every other operation runs with: they run last, on their own.
LOG_OUTS = ["apps_accounts_api_sessions_end_all", "apps_accounts_api_sessions_end_one"]


def schemathesis(server: AsgiServer, header: str, cwd: Path, *filters: str) -> subprocess.CompletedProcess[str]:
    """Every check and every phase, the stateful one included (links inferred from the schema).

    The document is fetched here: schemathesis gives loading a fixed 10 s, which a
    busy CI machine can exceed.
    """
    spec = cwd / "openapi.json"
    if not spec.exists():
        spec.write_bytes(api_schema(server.url))
    argv = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", str(spec), "--url", server.url, *filters,
        "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "20261121",
        "--header", header, "--request-timeout", "20", "--generation-database", "none",
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=cwd, check=False)


def still_logged_in(server: AsgiServer, token: str) -> bool:
    request = urllib.request.Request(f"{server.url}/api/me", headers={"X-Session-Token": token})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL
            return response.status == 200
    except urllib.error.HTTPError:
        return False


@pytest.mark.long
@pytest.mark.timeout(900)  # as long as schemathesis itself may run (below); CPU-bound, slow on a loaded machine
def test_the_api_passes_every_schemathesis_check(asgi_server: AsgiServer, alice: User, tmp_path: Path) -> None:
    pet = PetFactory(owner=alice, beacon=BeaconFactory(owner=alice))
    ScheduleFactory(pet=pet, feeder=FeederFactory(owner=alice))
    token = login(asgi_server, alice)
    excluded = [arg for operation in LOG_OUTS for arg in ("--exclude-operation-id", operation)]
    done = schemathesis(asgi_server, f"X-Session-Token: {token}", tmp_path, *excluded)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    # Every operation ran as the owner: a token lost on the way would have
    # turned the rest of the run into 401s that pass every check unseen.
    assert still_logged_in(asgi_server, token)

    # The device's typed messages (Hello, Heartbeat, Fed…) as a device paired now,
    # on a feeder of its own: the run above may have deleted or unpaired any other.
    EmailAddress.objects.get_or_create(user=alice, email=alice.email, defaults={"verified": True, "primary": True})
    feeder = FeederFactory(owner=alice, mac="F0:E1:D2:C3:B4:A5")
    _, code = device_services.pairing_code_create(feeder=feeder, user=owner_of(feeder))
    _, _, device = device_services.feeder_pair(code=code, mac=feeder.mac, client="127.0.0.1")
    done = schemathesis(
        asgi_server, f"Authorization: Bearer {device}", tmp_path, "--include-path-regex", "^/api/messages/"
    )
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]

    included = [arg for operation in LOG_OUTS for arg in ("--include-operation-id", operation)]
    done = schemathesis(asgi_server, f"X-Session-Token: {token}", tmp_path, *included)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
