from __future__ import annotations

from django.apps import AppConfig


class FeedersConfig(AppConfig):
    name = "apps.feeders"
    label = "feeders"
    verbose_name = "Feeders"

    def ready(self) -> None:
        from apps.feeders import messages  # noqa: F401 - registers the feeder protocol
        from apps.feeders.services import photos  # noqa: F401 - connects the photo files' clean-up to row deletion
