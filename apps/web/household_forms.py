"""The households pages' forms: the switcher, an invitation, a member's role, an invitation's answer.

They check the shape of input, as the API's schemas do; the rules (who may invite, the last
owner, a verified address) stay in apps.households.services.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.base_user import BaseUserManager

from apps.api.types import BIGINT_MAX
from apps.households.roles import Role
from apps.households.services import INVITATION_DAYS
from apps.web.forms import WebForm

MAX_INVITATION_DAYS = 30  # as the API allows


class HouseholdChoiceForm(WebForm):
    household = forms.IntegerField(min_value=1, max_value=BIGINT_MAX)  # an id the database can hold


class InvitationForm(WebForm):
    email = forms.EmailField(label="E-mail address", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    days = forms.IntegerField(
        label="Valid for (days)", min_value=1, max_value=MAX_INVITATION_DAYS, initial=INVITATION_DAYS
    )

    def clean_email(self) -> str:
        return BaseUserManager.normalize_email(self.cleaned_data["email"])


class MemberRoleForm(WebForm):
    role = forms.ChoiceField(choices=Role.choices)


class InvitationAnswerForm(WebForm):
    code = forms.CharField(
        max_length=32, help_text="From the invitation mail, e.g. ABCDE-FGHJK.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )  # fmt: skip
