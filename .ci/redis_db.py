"""Claim an empty Redis database for one CI run, and release it afterwards.

    redis_db.py claim RUN        prints the number of the database claimed
    redis_db.py release RUN N    empties database N if RUN still holds it

A database is claimed only when it is empty and our SET NX wins, so two runs
can never share one (catfeeder.testing holds the rule; test workers claim theirs
the same way). Database 0 is left for development.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from .ci/

from catfeeder.testing import redis_db_claim, redis_db_release  # noqa: E402

URL = "redis://127.0.0.1:6379/0"


if __name__ == "__main__":
    if sys.argv[1] == "claim":
        try:
            print(redis_db_claim(URL, sys.argv[2]))
        except RuntimeError as error:
            sys.exit(f"{error} on {URL}")
    else:
        redis_db_release(URL, sys.argv[2], int(sys.argv[3]))
