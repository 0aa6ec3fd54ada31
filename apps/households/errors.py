"""The households' errors: problem+json over REST, typed errors on the message routes."""

from __future__ import annotations

from apps.api.problems import Problem


class HouseholdNotFound(Problem):
    """Not a household of the acting user (or none at all: we do not say which)."""

    def __init__(self) -> None:
        super().__init__(404, "No such household.", kind="not-found")


class RoleForbidden(Problem):
    """The acting user's role in the household does not allow this."""

    def __init__(self, *, role: str, needed: str) -> None:
        detail = f"A {role} of this household may not do this; it needs a {needed}."
        super().__init__(403, detail, kind="role-forbidden")


class LastOwner(Problem):
    """A household keeps at least one owner."""

    def __init__(self) -> None:
        detail = "A household needs at least one owner: make another member an owner first."
        super().__init__(409, detail, kind="last-owner")


class MemberNotFound(Problem):
    def __init__(self) -> None:
        super().__init__(404, "No such member of this household.", kind="not-found")


class InvitationNotValid(Problem):
    """Unknown, used, declined, revoked, expired, or for another address: we do not say which."""

    def __init__(self) -> None:
        super().__init__(404, "No such invitation: it is unknown, used, revoked or expired.", kind="not-found")


class InvitationAnswered(Problem):
    def __init__(self, status: str) -> None:
        super().__init__(409, f"This invitation is {status} already.", kind="conflict")


class EmailUnverified(Problem):
    def __init__(self) -> None:
        detail = "Verify your e-mail address before accepting an invitation."
        super().__init__(403, detail, kind="email-unverified")
