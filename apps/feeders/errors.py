"""Domain errors. Each is a Problem, so the REST API answers it as problem+json
and the message layer as a typed error with the same `kind`."""

from __future__ import annotations

import datetime as dt

from apps.accounts.times import when_text
from apps.api.problems import Problem


class Conflict(Problem):
    def __init__(self, detail: str) -> None:
        super().__init__(409, detail, kind="conflict")


class AllowanceExceeded(Problem):
    def __init__(
        self,
        *,
        pet_name: str,
        grams: int,
        eaten: int,
        allowance: int,
        period_end: dt.datetime,
        zone: str,
        promised: int = 0,
    ) -> None:
        remaining = max(allowance - eaten - promised, 0)
        on_its_way = f", {promised} g ordered and not fed yet" if promised else ""
        detail = (
            f"{pet_name} may not eat {grams} g now: {eaten} g of {allowance} g eaten this period{on_its_way}, "
            f"{remaining} g left until {when_text(period_end, zone=zone)}."
        )
        super().__init__(409, detail, kind="allowance-exceeded")
        self.remaining = remaining


class InvalidReference(Problem):
    """A body names an object the caller does not own (or that does not exist: we do not say which)."""

    def __init__(self, field: str, what: str) -> None:
        errors = [{"loc": ["body", field], "msg": f"no such {what}", "type": "invalid_reference"}]
        super().__init__(422, f"No such {what}.", kind="validation", errors=errors)


class PetNotAllowedAtFeeder(Problem):
    """A meal or a feed-now for a pet kept off that feeder (its access list on the feeder)."""

    def __init__(self, *, field: str, pet_name: str, feeder_name: str) -> None:
        msg = f"{pet_name} may not eat at {feeder_name}"
        errors = [{"loc": ["body", field], "msg": msg, "type": "not_allowed_at_feeder"}]
        detail = f"{msg}: add {pet_name} to the feeder's pets first."
        super().__init__(422, detail, kind="not-allowed-at-feeder", errors=errors)


class SchedulesInTheWay(Problem):
    """Pets taken off a feeder's list still have meal schedules there: nothing changed."""

    def __init__(self, *, feeder_name: str, schedules: list[tuple[int, str, list[str]]]) -> None:
        listed = "; ".join(f"schedule {pk} ({pet}, {', '.join(times)})" for pk, pet, times in schedules)
        detail = f"Meals are scheduled at {feeder_name} for pets taken off its list: {listed}. Delete them first."
        errors = [
            {"loc": ["body", "pet_ids"], "msg": f"schedule {pk} feeds {pet} here", "type": "schedule_in_the_way"}
            for pk, pet, _ in schedules
        ]
        super().__init__(409, detail, kind="schedules-in-the-way", errors=errors)
        self.schedule_ids = [pk for pk, _, _ in schedules]


class PairingFailed(Problem):
    """Wrong, used or expired code, or a MAC with no code: we do not say which."""

    def __init__(self) -> None:
        super().__init__(422, "That pairing code is not valid for this device.", kind="pairing-failed")


class PairingLimited(Problem):
    """Too many pairing attempts from this address, or with this code: try again after `wait` seconds."""

    def __init__(self, wait: int) -> None:
        detail = f"Too many pairing attempts; try again in {wait} s."
        super().__init__(429, detail, kind="rate-limited", headers={"Retry-After": str(wait)})
