from __future__ import annotations

from django.apps import AppConfig


class FeedersConfig(AppConfig):
    name = "apps.feeders"
    label = "feeders"
    verbose_name = "Feeders"

    def ready(self) -> None:
        from apps.api.api import api
        from apps.api.messages import CallerKind
        from apps.api.messages.auth import register_authenticator
        from apps.feeders import messages  # noqa: F401 - registers the feeder protocol
        from apps.feeders.api import beacons, commands, feeders, pets, schedules
        from apps.feeders.photos_api import router as photos_router
        from apps.feeders.principals import device_caller
        from apps.feeders.services import photos  # noqa: F401 - connects the photo files' clean-up to row deletion

        register_authenticator(CallerKind.DEVICE, device_caller, log_field="feeder_id")
        routers = {"/feeders": feeders, "/beacons": beacons, "/pets": pets, "/schedules": schedules,
                   "/commands": commands, "": photos_router}  # fmt: skip
        for prefix, router in routers.items():
            api.add_router(prefix, router)  # "": /pets/{pet_id}/photos and /photos/...
