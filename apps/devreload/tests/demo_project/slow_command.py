"""A listener command that never finishes on its own: it writes its pid, then waits to be stopped."""

from __future__ import annotations

import os
import time
from pathlib import Path

(Path(__file__).parent / "slow" / "pid").write_text(str(os.getpid()))
time.sleep(600)
