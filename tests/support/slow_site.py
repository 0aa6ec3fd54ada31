"""Test settings with one extra route, /test/slow/?seconds=N, for load and drain tests."""

from __future__ import annotations

from catfeeder.settings.test import *  # noqa: F403

ROOT_URLCONF = "tests.support.slow_urls"
