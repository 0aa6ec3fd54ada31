"""Infrastructure adapters that any layer may use: row locks, file storage, the embedded Redis, asyncio helpers.

The lowest floor of the house: it imports no app and not the project package `catfeeder`, so the
domain, the framework and the edges can all stand on it (import-linter holds it there).
"""
