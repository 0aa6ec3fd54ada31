"""Field types for API schemas.

JSON bodies carry real types, so body fields are strict: pydantic's lax mode
would take `0` for false, `"12"` for 12 or `1700000000` for a date-time.
Query strings are text by nature and keep the lax types.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Annotated, Any, cast

from ninja import Field
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    JsonValue,
    StrictBool,
    StrictFloat,
    StrictInt,
)

__all__ = [
    "BIGINT_MAX",
    "AwareDatetime",
    "IsoDate",
    "OutSchema",
    "QueryRowId",
    "RowId",
    "SafeText",
    "StrictBool",
    "StrictFloat",
    "StrictInt",
    "TimeZone",
    "optional",
    "safe_text",
]

# Documented as an enum, so that clients (and schemathesis) know every accepted name.
TIME_ZONES = cast("list[JsonValue]", sorted(zoneinfo.available_timezones()))


def _time_zone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)")
    return value


TimeZone = Annotated[
    str, Field(examples=["Europe/Paris"], json_schema_extra={"enum": TIME_ZONES}), AfterValidator(_time_zone)
]

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, dt.date) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError("an ISO 8601 date, e.g. 2021-04-01")


def _iso_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not ISO_DATETIME.match(value):
        raise ValueError("an ISO 8601 date-time, e.g. 2026-11-21T08:00:00Z")
    return value


def _aware(value: dt.datetime) -> dt.datetime:
    if value.utcoffset() is None:
        raise ValueError("give a time zone offset, e.g. 2026-11-21T08:00:00Z")
    # The instant in UTC, as the database stores it: PostgreSQL refuses offsets
    # beyond ±15:59 that RFC 3339 allows, and an instant whose UTC year falls
    # outside 1..9999 (0001-01-01T00:00+01:00) is stored by no database.
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("an instant between the years 1 and 9999 in UTC") from None


# An instant with its offset, given back in UTC: every datetime a request gives.
AwareDatetime = Annotated[dt.datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]


def _iso_parsed(value: Any) -> Any:
    text = _iso_text(value)
    if isinstance(text, dt.datetime):
        return text
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("an ISO 8601 date-time, e.g. 2026-11-21T08:00:00Z") from None


# The same for a typed message: messages are validated strictly, which takes no text for a
# datetime, and JSON has no other way to carry one.
MessageDatetime = Annotated[dt.datetime, BeforeValidator(_iso_parsed), AfterValidator(_aware)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]

# Characters that no text column takes: PostgreSQL refuses NUL in text, and a
# lone surrogate (JSON's "\ud800") cannot be encoded to UTF-8 at all. The other
# C0 controls and DEL are refused with them, tab and line breaks excepted: no
# name or note needs them, and a terminal or log showing one could be misled.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# The same rule for clients (and schemathesis), in JSON Schema's regex dialect.
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$"


def safe_text(value: str) -> str:
    found = CONTROL_CHARACTERS.search(value)
    if found is not None:
        raise ValueError(f"Control characters are not allowed (U+{ord(found.group()):04X} at position {found.start()})")
    return value


# Every free text a request gives (body, query string or typed message): what
# the database would refuse is a 422 here, naming the field, not a 500 there.
SafeText = Annotated[str, Field(json_schema_extra={"pattern": NO_CONTROL_CHARACTERS}), AfterValidator(safe_text)]

# Integer columns' ranges, so that a number no column holds is a 422 naming its
# field rather than a database error (PostgreSQL) or an OverflowError (SQLite).
BIGINT_MAX = 2**63 - 1
# A row's id (BigAutoField): strict in a JSON body, lax in a query string or a typed message.
RowId = Annotated[StrictInt, Field(ge=1, le=BIGINT_MAX)]
QueryRowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]


def optional(**constraints: Any) -> Any:
    """A PATCH field: absent leaves the value alone, an explicit null is a 422.

    Use it on fields typed without None (`name: Name = optional()`); handlers
    dump the input with exclude_unset, so an absent field never reaches a service.
    """
    return Field(None, **constraints)


class OutSchema(BaseModel):
    """Base of response schemas read from model instances.

    Plain pydantic reads attributes in pydantic-core; ninja's Schema wraps
    every object in a Python-level getter first, which cost about 1.5 ms for
    a page of 20 feeders. Use ninja's Schema only where a `resolve_*` method
    is needed.
    """

    model_config = ConfigDict(from_attributes=True)
