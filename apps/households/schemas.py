from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import AfterValidator, Field

from apps.api.types import OutSchema, QueryRowId, SafeText
from apps.households.models import InvitationStatus
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


def _email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("not an e-mail address") from None
    return BaseUserManager.normalize_email(value)


Email = Annotated[str, Field(max_length=254, examples=["dora@example.com"]), AfterValidator(_email)]


class InvitationCreateIn(Schema):
    email: Email
    role: Role = Role.MEMBER
    expires_in_days: int = Field(7, ge=1, le=30, description="How long the code works (days).")


class InvitationOut(OutSchema):
    id: int
    household_id: int
    email: str
    role: Role
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime


class InvitationCreatedOut(InvitationOut):
    code: str = Field(description="Mailed to the address; shown here once. It works once, for that address only.")


class MyInvitationOut(Schema):
    id: int
    household_name: str = Field(alias="household.name")
    role: Role
    expires_at: datetime


class InvitationAnswerIn(Schema):
    code: str = Field(
        min_length=1, max_length=32, description="The code from the invitation mail.", examples=["ABCDE-FGHJK"]
    )
