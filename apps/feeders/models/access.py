from __future__ import annotations

from typing import ClassVar

from django.db import models

from apps.feeders.models.devices import Feeder
from apps.feeders.models.pets import Pet


class FeederExclusion(models.Model):
    """A pet kept off a feeder: MayFeed refuses it there, and no meal may be scheduled for it there.

    Access is stored as the exceptions, not as the allowed pairs: a feeder admits every pet
    of its owner unless a row says otherwise. So a new pet may eat at every feeder, a new
    feeder admits every pet, and rows made by any path (pages, API, admin, a data
    migration) start with that default without a fan-out of rows to keep complete.
    Feeder and pet share an owner (the service checks it), whoever that owner later is.
    """

    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="exclusions")
    pet = models.ForeignKey(Pet, on_delete=models.CASCADE, related_name="exclusions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("feeder", "pet")
        verbose_name = "pet kept off a feeder"
        verbose_name_plural = "pets kept off feeders"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["feeder", "pet"], name="feeders_exclusion_one_per_pair"),
        ]

    def __str__(self) -> str:
        return f"pet {self.pet_id} kept off feeder {self.feeder_id}"
