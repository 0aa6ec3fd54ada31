from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_OFFSET = 2**31 - 1  # a database's integer; beyond it SQLite overflows


class Pagination(LimitOffsetPagination):
    """ninja's limit/offset pagination with both ends bounded (and documented), counting only when it must.

    The page is read with one row more than asked for. When that row is not
    there, the page is the last one and `count` is offset + its length: no
    COUNT query, which on the usual list (everything fits one page) was a
    second statement per request. A full page, or an offset past the end,
    still counts.
    """

    class Input(Schema):
        limit: int = Field(settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=settings.NINJA_PAGINATION_MAX_LIMIT)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def paginate_queryset(self, queryset: Any, pagination: Any, request: HttpRequest, **params: Any) -> Any:
        offset = pagination.offset
        limit = min(pagination.limit, self.max_limit)
        items = list(queryset[offset : offset + limit + 1])
        if len(items) > limit or (not items and offset > 0):
            count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
        else:
            count = offset + len(items)
        return {self.items_attribute: items[:limit], "count": count}
