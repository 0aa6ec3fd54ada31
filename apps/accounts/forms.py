from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import HttpRequest

from apps.accounts.models import User
from apps.accounts.services import user_update


class UserAdminCreationForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


class UserAdminChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"


class ProfileForm(forms.Form):
    name = forms.CharField(label="Display name", max_length=150, required=False)
    time_zone = forms.ChoiceField(
        label="Time zone", help_text="Times of meals and visits are shown in this zone.", choices=()
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [(zone, zone) for zone in zones]  # type: ignore[attr-defined]


class SignupTimeZoneForm(forms.Form):
    """allauth's sign-up form gets this field (ACCOUNT_SIGNUP_FORM_CLASS): the browser's own
    time zone, filled in by static/js/time_zone.js, so times read right from the first page."""

    time_zone = forms.CharField(
        required=False, max_length=64, widget=forms.HiddenInput(attrs={"data-browser-time-zone": ""})
    )

    def clean_time_zone(self) -> str:
        # A browser without Intl, or a zone this server does not know: UTC, never a refused sign-up.
        value = str(self.cleaned_data.get("time_zone") or "")
        return value if value in zoneinfo.available_timezones() else "UTC"

    def signup(self, request: HttpRequest, user: User) -> None:
        user_update(user=user, data={"time_zone": self.cleaned_data["time_zone"]})


class AccountDeleteForm(forms.Form):
    confirm = forms.CharField(
        label='Type "delete" to confirm',
        help_text="Your feeders, pets, schedules, history and photos are deleted with the account. "
        "This cannot be undone.",
    )

    def clean_confirm(self) -> str:
        value = str(self.cleaned_data["confirm"]).strip().lower()
        if value != "delete":
            raise forms.ValidationError('Type "delete" to confirm.')
        return value
