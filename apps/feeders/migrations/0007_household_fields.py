# The move from an owner (a user) to a household, in three steps: this one adds the household
# columns (empty for now), 0008 fills them, 0009 makes them required and drops the owner. Three
# migrations, three transactions: PostgreSQL refuses to alter a table with rows updated in the
# same transaction (pending deferred foreign-key checks).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def household(related_name):
    return models.ForeignKey(
        null=True, on_delete=django.db.models.deletion.CASCADE, related_name=related_name, to='households.household'
    )


def owner(related_name):
    # Nullable until it goes: migrating back re-adds it empty, then fills it.
    return models.ForeignKey(
        null=True, on_delete=django.db.models.deletion.CASCADE, related_name=related_name, to=settings.AUTH_USER_MODEL
    )


class Migration(migrations.Migration):

    dependencies = [
        ('feeders', '0006_feeder_exclusions'),
        ('households', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(model_name='feeder', name='household', field=household('feeders')),
        migrations.AddField(model_name='beacon', name='household', field=household('beacons')),
        migrations.AddField(model_name='pet', name='household', field=household('pets')),
        migrations.AlterField(model_name='feeder', name='owner', field=owner('feeders')),
        migrations.AlterField(model_name='beacon', name='owner', field=owner('beacons')),
        migrations.AlterField(model_name='pet', name='owner', field=owner('pets')),
    ]
