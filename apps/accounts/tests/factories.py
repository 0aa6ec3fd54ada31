from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from apps.accounts.models import User

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - every test user's password


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"owner{n}@example.com")
    name = factory.Faker("first_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: object, **kwargs: object) -> None:  # noqa: N805
        if create:
            obj.save()

    @factory.post_generation
    def email_verified(obj: User, create: bool, extracted: bool | None, **kwargs: object) -> None:  # noqa: N805
        """A verified address unless `email_verified=False`: log-in needs one (mandatory verification)."""
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)
