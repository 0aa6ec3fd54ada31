from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.devreload.selectors import hello_message, pages_group


class DevReloadConsumer(AsyncJsonWebsocketConsumer):
    """Pushes reload, stylesheet and listener-failure messages to one open page.

    The first message says which server process this is: a page that sees a
    new id after reconnecting knows the server restarted and reloads.
    """

    groups = [pages_group()]

    async def connect(self) -> None:
        await self.accept()
        await self.send_json(hello_message())

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Pages have nothing to say; whatever they send is ignored."""

    async def devreload_message(self, event: dict[str, Any]) -> None:
        await self.send_json(event["message"])
