from __future__ import annotations

from django.contrib.auth.forms import UserChangeForm, UserCreationForm

from apps.accounts.models import User


class UserAdminCreationForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)


class UserAdminChangeForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"
