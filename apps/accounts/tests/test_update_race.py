from __future__ import annotations

import pytest
from django.http import Http404
from django.utils.functional import SimpleLazyObject

from apps.accounts.models import User
from apps.accounts.services import user_update

pytestmark = pytest.mark.django_db


def test_an_account_deleted_between_read_and_save_is_404_and_stays_deleted(alice: User) -> None:
    user = SimpleLazyObject(lambda: User.objects.get(pk=alice.pk))  # as request.user comes
    _ = user.pk  # read now, before the DELETE that wins the race
    User.objects.filter(pk=alice.pk).delete()
    with pytest.raises(Http404):
        user_update(user=user, data={"name": "Renamed"})  # type: ignore[arg-type]
    assert not User.objects.filter(pk=alice.pk).exists()


def test_my_own_profile_update_through_the_lazy_request_user_saves(alice: User) -> None:
    user = SimpleLazyObject(lambda: User.objects.get(pk=alice.pk))
    user_update(user=user, data={"name": "Renamed"})  # type: ignore[arg-type]
    alice.refresh_from_db()
    assert alice.name == "Renamed"
