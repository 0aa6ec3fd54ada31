"""The product's routes, under the benchmarks' settings (bench/settings.py)."""

from __future__ import annotations

from catfeeder.urls import urlpatterns

__all__ = ["urlpatterns"]
