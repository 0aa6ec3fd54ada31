import django.db.models.deletion
from django.db import migrations, models


def household(related_name):
    return models.ForeignKey(
        on_delete=django.db.models.deletion.CASCADE, related_name=related_name, to='households.household'
    )


class Migration(migrations.Migration):

    dependencies = [
        ('feeders', '0008_households_for_owners'),
    ]

    operations = [
        migrations.AlterField(model_name='feeder', name='household', field=household('feeders')),
        migrations.AlterField(model_name='beacon', name='household', field=household('beacons')),
        migrations.AlterField(model_name='pet', name='household', field=household('pets')),
        migrations.RemoveConstraint(model_name='feeder', name='feeders_feeder_mac_unique_per_owner'),
        migrations.RemoveConstraint(model_name='beacon', name='feeders_beacon_mac_unique_per_owner'),
        migrations.AddConstraint(
            model_name='feeder',
            constraint=models.UniqueConstraint(fields=('household', 'mac'), name='feeders_feeder_mac_unique_per_household'),
        ),
        migrations.AddConstraint(
            model_name='beacon',
            constraint=models.UniqueConstraint(fields=('household', 'mac'), name='feeders_beacon_mac_unique_per_household'),
        ),
        migrations.RemoveField(model_name='feeder', name='owner'),
        migrations.RemoveField(model_name='beacon', name='owner'),
        migrations.RemoveField(model_name='pet', name='owner'),
    ]
