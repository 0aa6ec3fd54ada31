"""`manage.py serve`: web, worker, beat (and the embedded Redis) as one supervised group.

The logic lives with the rest of the runtime, in catfeeder.runtime.serve.
"""

from __future__ import annotations

from catfeeder.runtime.serve import ServeCommand


class Command(ServeCommand):
    pass
