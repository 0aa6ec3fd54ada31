"""Home Assistant links move from owners to households.

Each enabled owner link becomes an enabled link of every household its owner is an owner or a
member of (not a viewer: a viewer may not turn it on), enabled by that owner, at the time the
owner's link last changed. Where two owners of one household both had it on, the household's
link is the one of the owner who turned theirs on first. Disabled owner links are dropped: off is
what a household without a link reads as.

Going back gives each user who enabled a household's link an enabled owner link.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ROLES_THAT_ENABLE = ("owner", "member")


def _constraints_now(schema_editor: Any) -> None:
    # PostgreSQL checks foreign keys at commit (Django makes them DEFERRABLE INITIALLY DEFERRED) and
    # will not ALTER a table with checks pending: run them now, so the schema changes that follow
    # in this same transaction may go on.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def links_to_households(apps: Any, schema_editor: Any) -> None:
    Link = apps.get_model("homeassistant", "HomeAssistantLink")
    Membership = apps.get_model("households", "Membership")
    owner_links = Link.objects.filter(household__isnull=True)
    for link in owner_links.filter(enabled=True).order_by("updated_at", "id"):
        memberships = Membership.objects.filter(user_id=link.owner_id, role__in=ROLES_THAT_ENABLE)
        for household_id in memberships.values_list("household_id", flat=True):
            Link.objects.get_or_create(
                household_id=household_id,
                defaults={"enabled": True, "enabled_by_id": link.owner_id, "enabled_at": link.updated_at},
            )
    owner_links.delete()
    _constraints_now(schema_editor)


def links_to_owners(apps: Any, schema_editor: Any) -> None:
    Link = apps.get_model("homeassistant", "HomeAssistantLink")
    household_links = Link.objects.filter(owner__isnull=True)
    enablers = (
        household_links.filter(enabled=True, enabled_by__isnull=False)
        .order_by("enabled_by_id")
        .values_list("enabled_by_id", flat=True)
        .distinct()
    )
    for user_id in list(enablers):
        Link.objects.create(owner_id=user_id, enabled=True)
    household_links.delete()
    _constraints_now(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("homeassistant", "0001_initial"),
        ("households", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Both columns nullable while the rows move: new rows have no owner, old ones no household.
        migrations.AlterField(
            model_name="homeassistantlink",
            name="owner",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="home_assistant",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="homeassistantlink",
            name="household",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="home_assistant",
                to="households.household",
            ),
        ),
        migrations.AddField(
            model_name="homeassistantlink",
            name="enabled_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="homeassistantlink",
            name="enabled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(links_to_households, links_to_owners),
        migrations.RemoveField(model_name="homeassistantlink", name="owner"),
        migrations.AlterField(
            model_name="homeassistantlink",
            name="household",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="home_assistant",
                to="households.household",
            ),
        ),
    ]
