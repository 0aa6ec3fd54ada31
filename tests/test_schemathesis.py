"""schemathesis over the whole OpenAPI document, against the real server.

Every check, authenticated as an owner with data, with a bounded example
budget so the run stays short: no server errors, every response as documented.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD
from apps.feeders.tests.factories import BeaconFactory, FeederFactory, PetFactory, ScheduleFactory
from catfeeder.testing import AsgiServer

EXAMPLES_PER_OPERATION = 25


def login(server: AsgiServer, user: User) -> str:
    request = urllib.request.Request(  # noqa: S310 - loopback URL
        f"{server.url}/_allauth/app/v1/auth/login",
        data=json.dumps({"email": user.email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback URL
        return str(json.load(response)["meta"]["session_token"])


def test_the_api_passes_every_schemathesis_check(asgi_server: AsgiServer, alice: User, tmp_path: Path) -> None:
    pet = PetFactory(owner=alice, beacon=BeaconFactory(owner=alice))
    ScheduleFactory(pet=pet, feeder=FeederFactory(owner=alice))
    token = login(asgi_server, alice)
    argv = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
        "run", f"{asgi_server.url}/api/openapi.json",
        "--checks", "all", "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "20261121",
        "--header", f"X-Session-Token: {token}", "--request-timeout", "20", "--generation-database", "none",
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
