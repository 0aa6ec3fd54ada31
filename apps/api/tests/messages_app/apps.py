from __future__ import annotations

from django.apps import AppConfig


class MessagesTestAppConfig(AppConfig):
    name = "apps.api.tests.messages_app"
    label = "messages_test_app"

    def ready(self) -> None:
        from apps.api.tests.messages_app import handlers  # noqa: F401 - registers the test messages
