"""The simulator's device socket: requests matched to replies, pushes (FeedNow, ScheduleSync, ConfigUpdate)
handled as firmware does. The console and the cast are simulate_feeders'."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection

from apps.feeders.management.local_schedule import LocalSchedule

Say = Callable[["Device", str, str], None]  # (device, event, detail): one console line
WAIT = 10.0  # seconds for a reply


@dataclass
class Device:
    n: int
    mac: str
    beacon_mac: str | None  # None: no collar tag comes to this bowl
    code: str
    token: str | None = None
    feeder_id: int | None = None  # told in Welcome
    done: set[int] = field(default_factory=set)  # command ids already dispensed: repeats are no-ops
    local: LocalSchedule | None = None  # it keeps its schedule ("local_schedule"); None: it does not
    link: Link | None = None  # the socket, once what was queued offline is uploaded


class Link:
    """One device socket: requests with ids, replies matched to them, pushes handed on."""

    def __init__(self, ws: ClientConnection, device: Device, stats: Counter[str], say: Say) -> None:
        self.ws, self.device, self.stats, self.say = ws, device, stats, say
        self.ids = itertools.count(1)
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.flushed = asyncio.Event()  # the offline queue is uploaded: results and acks may follow
        self.tasks: set[asyncio.Future[None]] = set()

    async def call(self, type: str, **fields: Any) -> dict[str, Any]:
        request_id = f"{self.device.n}-{next(self.ids)}"
        self.waiting[request_id] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"type": type, "id": request_id, **fields}))
        reply = await asyncio.wait_for(self.waiting[request_id], WAIT)
        if reply["type"] == "Error":
            self.stats[f"error {reply['code']}"] += 1
        return reply

    async def read(self) -> None:
        async for text in self.ws:
            frame = json.loads(text)
            future = self.waiting.pop(frame.get("id"), None)
            if future is not None:
                future.set_result(frame)
            elif frame["type"] == "FeedNow":
                self.later(self.dispense(frame))
            elif frame["type"] == "ConfigUpdate" and frame.get("device_token"):
                self.device.token = frame["device_token"]
            elif frame["type"] == "ScheduleSync" and self.device.local is not None:
                self.later(self.schedule(frame))
            elif frame["type"] == "SlotSkip" and self.device.local is not None:
                self.device.local.served.add(frame["slot"])  # refused by the allowance: not served here either
                self.say(self.device, "skip", f"slot {frame['slot']}: {frame['reason']}, not served")

    def later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)  # held: a task nobody holds may be collected before it runs
        task.add_done_callback(self.tasks.discard)

    async def schedule(self, sync: dict[str, Any]) -> None:
        local = self.device.local
        if local is None or not local.take(sync):
            return
        self.say(self.device, "schedule", f"version {sync['version']}: {len(sync['meals'])} meals a day kept here")
        await self.flushed.wait()  # the ack says: everything before it is uploaded
        await self.call("ScheduleAck", version=sync["version"])

    async def dispense(self, order: dict[str, Any]) -> None:
        command_id, grams = order["command_id"], order["grams"]
        pet = f"pet {order['pet_id']}" if order.get("pet_id") else "no pet named"
        slot, local = order.get("slot"), self.device.local
        if slot and local is not None and slot in local.served and command_id not in self.device.done:
            self.say(self.device, "FeedNow", f"command {command_id}: slot {slot} served on its own already")
            self.device.done.add(command_id)
            await self.flushed.wait()  # its Fed goes first: the server records it at its real time
        elif command_id in self.device.done:
            self.say(self.device, "FeedNow", f"command {command_id} again: already dispensed, answering again")
        else:
            self.say(self.device, "FeedNow", f"command {command_id}: {grams} g, {pet}")
            self.device.done.add(command_id)
            if slot and local is not None:
                local.served.add(slot)
            self.stats["commands"] += 1
            self.say(self.device, "dispensed", f"{grams} g for command {command_id}")
        reply = await self.call("CommandResult", command_id=command_id, status="done", grams_dispensed=grams)
        self.say(self.device, "result", f"command {command_id} done, {grams} g: {answer(reply)}")


def answer(reply: dict[str, Any]) -> str:
    """The server's reply in a few words: Ack, or the error's code and message."""
    if reply["type"] == "Error":
        return f"refused, {reply.get('code')}: {reply.get('message', '')}"
    return "acknowledged" if reply["type"] == "Ack" else reply["type"]
