"""The household the pages show: the one the user picked (kept in their session), else their default.

A household they have left since falls back to the default, and a user in no household has none
(their first new row makes them one). Read once per request, with the user's role in each of
their households: the pages hide what a role may not do, the selectors and services refuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from django.http import HttpRequest

from apps.accounts.auth import owner
from apps.households.roles import Role
from apps.households.selectors import household_get, household_list

if TYPE_CHECKING:
    from apps.households.models import Household

SESSION_KEY = "web_household"  # the id of the household the pages show


@dataclass(frozen=True)
class Current:
    household: Household | None  # annotated with the user's `role` in it, as household_list gives
    households: list[Household]

    @property
    def id(self) -> int | None:
        return None if self.household is None else self.household.pk

    def may(self, role: Role, household_id: int | None = None) -> bool:
        """Whether the user's role in that household (the current one by default) allows `role`'s doings."""
        if household_id is None and self.household is None:
            return True  # in no household: their first new row makes them the owner of one
        wanted = self.id if household_id is None else household_id
        held = next((h.role for h in self.households if h.pk == wanted), None)  # type: ignore[attr-defined]
        return held is not None and Role(held).allows(role)


_read: WeakKeyDictionary[HttpRequest, Current] = WeakKeyDictionary()


def current(request: HttpRequest) -> Current:
    """The current household of the request's user (one query, then kept for the request)."""
    if request not in _read:
        households = list(household_list(user=owner(request)))
        wanted = request.session.get(SESSION_KEY)
        # household_list is oldest membership first: its first is the default (household_default).
        chosen = next((h for h in households if h.pk == wanted), households[0] if households else None)
        _read[request] = Current(household=chosen, households=households)
    return _read[request]


def current_set(request: HttpRequest, household_id: int) -> Household:
    """Show this household of the user's from now on (404 for one they are not in)."""
    household = household_get(user=owner(request), household_id=household_id)
    request.session[SESSION_KEY] = household.pk
    _read.pop(request, None)
    return household
