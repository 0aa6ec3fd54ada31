"""Database helpers shared by the apps' services."""

from __future__ import annotations

from django.db import models
from django.http import Http404


def lock_or_404(instance: models.Model) -> None:
    """Lock the row an update is about to write, until the transaction ends.

    Call it inside `transaction.atomic()`, before `save(update_fields=...)`.
    A row deleted since the request read it (a DELETE racing a PATCH) is then
    a 404, as it would have been a moment earlier, instead of Django's
    "did not affect any rows" DatabaseError; and a DELETE arriving now waits
    for the update to commit. PostgreSQL locks with SELECT … FOR UPDATE;
    SQLite ignores it, but its IMMEDIATE transactions (settings) hold the
    write lock from BEGIN, which serialises the two just the same.
    """
    model = instance._meta.model  # not type(): request.user is a lazy proxy of the instance
    if not model._default_manager.select_for_update().filter(pk=instance.pk).exists():
        raise Http404(f"No {model._meta.object_name} matches the given query.")
