"""An operator's shell on the cluster, for the tests: `python -m tests.cluster.agent`.

The test process's own Django runs on the suite's database and Redis; the cluster has its own
on `data`. This process runs Django with the cluster's environment and answers one JSON request
per line on stdin, `{"call": NAME, "args": {...}}`, with one JSON line on stdout: orders go
through the services, as the admin and the owners' apps give them; the rest are reads.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Any

import django

django.setup()

from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.accounts.models import User  # noqa: E402
from apps.feeders.models import FeedCommand, Feeder, FeedEvent, FeedSource, MealSchedule, Pet  # noqa: E402
from apps.feeders.services import commands as command_services  # noqa: E402
from apps.feeders.services import schedules as schedule_services  # noqa: E402
from apps.ops.selectors import web_instances_list  # noqa: E402
from apps.ops.services import web_instances_drain  # noqa: E402


def feed_now(*, owner: str, grams: int) -> list[int]:
    """The owner presses "feed now" on every one of their feeders."""
    feeders = Feeder.objects.filter(household__memberships__user__email=owner).order_by("pk")
    return [command_services.feed_command_create(feeder=f, grams=grams, source=FeedSource.OWNER).pk for f in feeders]


def meals_due(*, owner: str, grams: int) -> str:
    """A meal schedule per feeder and its cat, due now; returns the time from which its slots count."""
    since = timezone.now()
    pets = {
        pet.name.removeprefix("Sim cat "): pet for pet in Pet.objects.filter(household__memberships__user__email=owner)
    }
    for feeder in Feeder.objects.filter(household__memberships__user__email=owner).filter(schedules__isnull=True):
        schedule_services.schedule_create(pet=pets[feeder.name.removeprefix("Sim ")], feeder=feeder, times=["03:00"],
                                          days_of_week=list(range(1, 8)), grams=grams, time_zone="UTC")  # fmt: skip
    # Due this second: the dispatcher, on its next tick, serves the slot.
    MealSchedule.objects.filter(feeder__household__memberships__user__email=owner).update(next_run_at=since)
    return since.isoformat()


def meal_commands(*, owner: str, since: str) -> list[int]:
    commands = FeedCommand.objects.filter(feeder__household__memberships__user__email=owner, schedule__isnull=False,
                                          slot_at__gte=dt.datetime.fromisoformat(since))  # fmt: skip
    return list(commands.values_list("pk", flat=True))


def commands(*, ids: list[int]) -> dict[str, Any]:
    """Each command's status and how many feedings it recorded."""
    rows = FeedCommand.objects.filter(pk__in=ids).values_list("pk", "status")
    events = dict(FeedEvent.objects.filter(command_id__in=ids).values("command_id").annotate(n=Count("pk"))
                  .values_list("command_id", "n"))  # fmt: skip
    return {str(pk): {"status": status, "feedings": events.get(pk, 0)} for pk, status in rows}


def round_trips(*, ids: list[int]) -> list[float]:
    """Seconds from each done command's row to its device's answer recorded (FeedNow there and back)."""
    rows = FeedCommand.objects.filter(pk__in=ids, completed_at__isnull=False).values_list("created_at", "completed_at")
    return [(done - made).total_seconds() for made, done in rows if done is not None]


def online(*, owner: str) -> int:
    return Feeder.objects.filter(household__memberships__user__email=owner, is_online=True).count()


def sockets() -> dict[str, int]:
    """Open sockets per web host, as the running instances report them."""
    per_host: dict[str, int] = {}
    for instance in web_instances_list():
        if instance["state"] == "running":
            per_host[instance["host"]] = per_host.get(instance["host"], 0) + int(instance["sockets"])
    return per_host


def drain(*, host: str) -> int:
    """The admin's "drain and stop" of each of a host's instances."""
    running = [i for i in web_instances_list() if i["host"] == host and i["state"] == "running"]
    return sum(web_instances_drain(by="cluster test", instance_id=i["id"]) for i in running)


def session_token(*, owner: str) -> str:
    """An app token for the owner's live page (allauth's app tokens are session keys)."""
    client = Client()
    client.force_login(User.objects.get(email=owner))
    return str(client.session.session_key)


CALLS: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (feed_now, meals_due, meal_commands, commands, round_trips, online, sockets, drain, session_token)
}


def main() -> None:
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = {"result": CALLS[request["call"]](**request.get("args", {}))}
        except Exception as exc:  # noqa: BLE001 - told to the test, which fails with it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
