"""The references for `GET /api/feeders`: the same 20 rows and fields, as DRF and django-ninja users write them.

- /drf/feeders: a `ListAPIView` with a `ModelSerializer`, `TokenAuthentication`
  (`Authorization: Token <key>`) and `IsAuthenticated` (bench/reference_settings.py);
- /ninja/feeders: a django-ninja operation with a `ModelSchema` and an
  `HttpBearer` reading the same token table (`Authorization: Bearer <key>`).

Neither paginates nor rate-limits, as their defaults do.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path
from ninja import ModelSchema, NinjaAPI
from ninja.security import HttpBearer
from rest_framework import generics, serializers
from rest_framework.authtoken.models import Token

from apps.feeders.models import Feeder

FIELDS = [
    "id", "name", "mac", "latitude", "longitude", "city", "country", "time_zone", "firmware_version",
    "last_seen_at", "last_ip", "food_level_percent", "is_online", "created_at", "updated_at",
]  # fmt: skip


# -- Django REST Framework ------------------------------------------------------------
class FeederSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feeder
        fields = FIELDS


class FeederList(generics.ListAPIView):
    serializer_class = FeederSerializer

    def get_queryset(self) -> QuerySet[Feeder]:
        return Feeder.objects.filter(household__memberships__user=self.request.user)


# -- django-ninja -----------------------------------------------------------------------
class TokenBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = Token.objects.select_related("user").filter(key=token).first()
        if found is None or not found.user.is_active:
            return None
        request.user = found.user
        return found.user


class FeederOut(ModelSchema):
    class Meta:
        model = Feeder
        fields = FIELDS


ninja_api = NinjaAPI(urls_namespace="reference", auth=TokenBearer(), docs_url=None, openapi_url=None)


@ninja_api.get("/feeders", response=list[FeederOut])
def feeder_list(request: HttpRequest) -> QuerySet[Feeder]:
    return Feeder.objects.filter(household__memberships__user=request.user)


urlpatterns = [
    path("drf/feeders", FeederList.as_view()),
    path("ninja/", ninja_api.urls),
]
