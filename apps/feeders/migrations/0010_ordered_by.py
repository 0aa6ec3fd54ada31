import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def ordered_by():
    return models.ForeignKey(
        blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+',
        to=settings.AUTH_USER_MODEL,
    )


def ordered_index(name):
    return models.Index(condition=models.Q(('ordered_by__isnull', False)), fields=['ordered_by'], name=name)


class Migration(migrations.Migration):
    """Who ordered a command and its feeding: empty on every row made before (their orderer was not kept)."""

    dependencies = [
        ('feeders', '0009_household_required'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name='feedcommand', name='ordered_by', field=ordered_by()),
        migrations.AddField(model_name='feedevent', name='ordered_by', field=ordered_by()),
        migrations.AddIndex(model_name='feedcommand', index=ordered_index('feeders_command_ordered_by')),
        migrations.AddIndex(model_name='feedevent', index=ordered_index('feeders_feedevent_ordered_by')),
    ]
