"""Settings for benchmarks: the product's, plus a URLconf with reference views."""

from __future__ import annotations

from catfeeder.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
