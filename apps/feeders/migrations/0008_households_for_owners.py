# Every user gets a household of their own, its owner, and their feeders, collar tags and pets
# move into it; nothing else moves (schedules, commands, visits, feedings and photos hang from
# those rows). A user already in a household (made at sign-up) keeps theirs: the rows go to
# their oldest membership's.

from django.db import migrations
from django.db.models import OuterRef, Subquery

BATCH = 500  # users per bulk insert
NAME_MAX = 100  # Household.name


def household_name(user):
    who = user.name or user.email.split('@', 1)[0]
    return f"{who}'s household"[:NAME_MAX]


def give_households(apps, schema_editor):
    User = apps.get_model('accounts', 'User')
    Household = apps.get_model('households', 'Household')
    Membership = apps.get_model('households', 'Membership')
    users = User.objects.exclude(memberships__isnull=False).order_by('pk').only('pk', 'email', 'name')
    batch = []
    for user in users.iterator(chunk_size=BATCH):
        batch.append(user)
        if len(batch) == BATCH:
            _households_for(Household, Membership, batch)
            batch = []
    _households_for(Household, Membership, batch)
    oldest = Membership.objects.filter(user_id=OuterRef('owner_id')).order_by('created_at', 'id')
    for name in ('Feeder', 'Beacon', 'Pet'):
        apps.get_model('feeders', name).objects.update(household_id=Subquery(oldest.values('household_id')[:1]))


def _households_for(Household, Membership, users):
    if not users:
        return
    households = Household.objects.bulk_create([Household(name=household_name(user)) for user in users])
    Membership.objects.bulk_create(
        [Membership(household=h, user=user, role='owner') for h, user in zip(households, users, strict=True)]
    )


def take_back(apps, schema_editor):
    """Back to one owner per row: the household's first owner (the households stay)."""
    Membership = apps.get_model('households', 'Membership')
    first_owner = Membership.objects.filter(household_id=OuterRef('household_id'), role='owner')
    first_owner = first_owner.order_by('created_at', 'id').values('user_id')[:1]
    for name in ('Feeder', 'Beacon', 'Pet'):
        apps.get_model('feeders', name).objects.update(owner_id=Subquery(first_owner))


class Migration(migrations.Migration):

    dependencies = [
        ('feeders', '0007_household_fields'),
    ]

    operations = [
        migrations.RunPython(give_households, take_back),
    ]
