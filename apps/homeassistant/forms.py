from __future__ import annotations

from django import forms

from apps.api.types import BIGINT_MAX


class HomeAssistantForm(forms.Form):
    """One household's toggle: the page has one form per household the user may change."""

    household = forms.IntegerField(min_value=1, max_value=BIGINT_MAX, widget=forms.HiddenInput)
    enabled = forms.BooleanField(
        label="Publish this household's feeders, pets and meal schedules to Home Assistant",
        help_text="Home Assistant then shows them, and its presses and switches feed and change schedules as you, "
        "as long as you are a member of the household.",
        required=False,
    )
