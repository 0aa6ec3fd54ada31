"""Settings for a copy of demo_project/ that a test serves and edits (DEVRELOAD_DEMO_DIR names it).

Its templates, static files, URLconf (on PYTHONPATH) and a listener route
are all in that copy, so tests never edit a tracked file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from catfeeder.settings.test import *  # noqa: F403
from catfeeder.settings.test import TEMPLATES

DEMO_DIR = Path(os.environ["DEVRELOAD_DEMO_DIR"])

TEMPLATES = [{**TEMPLATES[0], "DIRS": [DEMO_DIR / "templates"]}]
STATICFILES_DIRS = [DEMO_DIR / "static"]
ROOT_URLCONF = "devreload_demo"
DEVRELOAD_ROUTES = {
    str(DEMO_DIR / "styles" / "*.txt"): [sys.executable, str(DEMO_DIR / "build_theme.py")],
    str(DEMO_DIR / "slow" / "*.txt"): [sys.executable, str(DEMO_DIR / "slow_command.py")],
}
