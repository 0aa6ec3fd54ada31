"""The project's ASGI app as `serve --reload` runs it.

Static files need no wrapper in DEBUG: WhiteNoise serves them from the
finders (WHITENOISE_USE_FINDERS follows DEBUG), as it serves collected files
in production.
"""

from __future__ import annotations

from catfeeder.asgi import application

__all__ = ["application"]
