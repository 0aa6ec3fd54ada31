import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def ordered_by():
    return models.ForeignKey(
        blank=True,
        null=True,
        on_delete=django.db.models.deletion.SET_NULL,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
    )


class Migration(migrations.Migration):
    """Who ordered a command and its feeding: empty on every row made before (their orderer was not kept)."""

    dependencies = [
        ("feeders", "0009_household_required"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name="feedcommand", name="ordered_by", field=ordered_by()),
        migrations.AddField(model_name="feedevent", name="ordered_by", field=ordered_by()),
    ]
