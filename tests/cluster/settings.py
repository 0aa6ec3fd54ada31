"""The cluster tests' processes: the production settings (catfeeder.settings.base) with one change.

Every simulated feeder pairs from the test's one address, where real feeders pair from as many
addresses as there are homes: the pairing limit per address would refuse all but the first ten.
"""

from __future__ import annotations

from catfeeder.settings.base import *  # noqa: F403

PAIRING_RATE_LIMITS = ["100000/m/ip", "5/10m/key"]
