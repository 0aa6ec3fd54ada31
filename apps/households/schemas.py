from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import Field

from apps.api.types import OutSchema, QueryRowId, SafeText
from apps.households.roles import Role


class HouseholdOut(OutSchema):
    id: int
    name: str
    role: Role = Field(description="The acting user's role in it.")
    created_at: datetime


class HouseholdUpdateIn(Schema):
    name: SafeText = Field(min_length=1, max_length=100)


class HouseholdFilter(Schema):
    household: QueryRowId | None = Field(
        None, description="Only the rows of this household (one of mine); every household of mine when absent."
    )


class MemberOut(Schema):
    user_id: int
    email: str = Field(alias="user.email")
    name: str = Field(alias="user.name")
    role: Role
    joined_at: datetime = Field(alias="created_at")


class MemberUpdateIn(Schema):
    role: Role
