"""Saving the rows owners edit: only the fields they may change, and a clash said in words."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction

from apps.feeders.errors import Conflict
from apps.infra.db import lock_or_404


def row_save(instance: models.Model, *, conflict: str, update_fields: list[str] | None = None) -> None:
    """Save, turning a uniqueness violation into a 409 that says what clashed.

    An update of a row deleted since it was read is a 404 (see lock_or_404).
    """
    try:
        with transaction.atomic():
            if update_fields is not None:
                lock_or_404(instance)
            instance.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def fields_apply(instance: models.Model, data: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    for name, value in data.items():
        setattr(instance, name, value)
    return [*data, "updated_at"]
