from __future__ import annotations

from django import forms


class HomeAssistantForm(forms.Form):
    enabled = forms.BooleanField(
        label="Publish my feeders, pets and meal schedules to Home Assistant",
        help_text="Home Assistant then shows them, and its presses and switches feed and change schedules as you.",
        required=False,
    )
