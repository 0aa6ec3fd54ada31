"""The bridge keeps households apart: each under its own root, each press acted out by the member
who turned that household's link on, as far as their role there still allows."""

from __future__ import annotations

import json

from apps.accounts.models import User
from apps.feeders.models import FeedCommand, FeedSource, MealSchedule
from apps.feeders.services.commands import feed_command_complete, feed_command_create
from apps.feeders.tests.factories import FeederFactory, PetFactory, ScheduleFactory
from apps.homeassistant.bridge import Bridge
from apps.homeassistant.services import home_assistant_set
from apps.homeassistant.tests.bridging import enabled, feeder_of_enabled, root
from apps.homeassistant.tests.mqtt import HomeAssistant
from apps.households.roles import Role
from apps.households.services import member_remove, member_role_set
from apps.households.tests.factories import household_of, member_add

ENTITIES = 7  # a feeder's


def result_of(home_assistant: HomeAssistant, topic: str, *, after: int) -> dict[str, object]:
    """The first result published on `topic` after `after` messages of the history."""
    home_assistant.wait(lambda: any(t == topic for t, _ in home_assistant.history[after:]), f"a result on {topic}")
    return json.loads(next(p for t, p in home_assistant.history[after:] if t == topic))


def test_two_households_topics_never_mix_and_one_cannot_command_the_others_feeder(
    alice: User, bob: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    alices, bobs = feeder_of_enabled(alice), feeder_of_enabled(bob)
    home_assistant.wait(
        lambda: len(home_assistant.configs(root(alice))) == len(home_assistant.configs(root(bob))) == ENTITIES,
        "both households' feeders",
    )
    # Live events of Alice's household: a command, then its feeder's answer.
    command = feed_command_create(feeder=alices, pet=None, grams=5, source=FeedSource.OWNER)
    feed_command_complete(feeder=alices, command_id=command.pk, done=True, grams_dispensed=5)
    home_assistant.wait(
        lambda: home_assistant.last.get(f"{root(alice)}/feeder/{alices.pk}/result", b"").find(b'"done"') >= 0,
        "alice's command done",
    )
    press, result = f"{root(bob)}/feeder/{alices.pk}/feed", f"{root(bob)}/feeder/{alices.pk}/result"
    home_assistant.press(press, "10")  # bob's topics, alice's feeder
    home_assistant.wait(lambda: result in home_assistant.last, "a result")
    assert home_assistant.json(result)["result"] == "refused"
    assert list(FeedCommand.objects.values_list("pk", flat=True)) == [command.pk]

    for user, feeder, other in ((alice, alices, bobs), (bob, bobs, alices)):
        text = json.dumps(home_assistant.configs(root(user)))
        assert f"feeder_{feeder.pk}" in text
        assert f"feeder_{other.pk}" not in text
        assert f"{root(user)}/feeder/{feeder.pk}/state" in text
        # Nothing the bridge published under a root is of the other household (but the refusal of the press).
        seen = [t for t, p in home_assistant.history if t.startswith(f"{root(user)}/") and p]
        assert not [t for t in seen if f"/feeder/{other.pk}/" in t and t not in (press, result)]
    assert f"{root(alice)}/" not in json.dumps(home_assistant.configs(root(bob)))


def test_a_member_of_two_households_gets_each_under_its_own_root_and_a_press_stays_in_its_household(
    alice: User, bob: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    alices, bobs_household = FeederFactory(owner=alice), household_of(bob)
    bobs = FeederFactory(owner=bob)
    member_add(bobs_household, alice, Role.MEMBER)
    enabled(alice)
    home_assistant_set(user=alice, household_id=bobs_household.pk, enabled=True)
    home_assistant.wait(
        lambda: len(home_assistant.configs(root(alice))) == len(home_assistant.configs(root(bobs_household))) == 7,
        "each household's feeder",
    )
    assert f"feeder_{alices.pk}" not in json.dumps(home_assistant.configs(root(bobs_household)))
    assert f"feeder_{bobs.pk}" not in json.dumps(home_assistant.configs(root(alice)))

    # Alice may feed at her own feeder, but not through the root of Bob's household.
    home_assistant.press(f"{root(bobs_household)}/feeder/{alices.pk}/feed", "10")
    after = len(home_assistant.history)
    home_assistant.press(f"{root(bobs_household)}/feeder/{bobs.pk}/feed", "10")
    assert result_of(home_assistant, f"{root(bobs_household)}/feeder/{bobs.pk}/result", after=after)["result"] == (
        "accepted"
    )
    assert home_assistant.json(f"{root(bobs_household)}/feeder/{alices.pk}/result")["result"] == "refused"
    assert list(FeedCommand.objects.values_list("feeder_id", flat=True)) == [bobs.pk]


def test_a_household_without_home_assistant_is_not_published_nor_obeyed(
    alice: User, bob: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    hidden = FeederFactory(owner=alice)
    feeder_of_enabled(bob)
    home_assistant.wait(lambda: len(home_assistant.configs(root(bob))) == ENTITIES, "bob's feeder")
    home_assistant.press(f"{root(alice)}/feeder/{hidden.pk}/feed", "10")
    home_assistant.press(f"{root(bob)}/feeder/0/feed", "10")  # a marker: commands are handled in order
    home_assistant.wait(lambda: f"{root(bob)}/feeder/0/result" in home_assistant.last, "the marker's result")
    assert home_assistant.configs(root(alice)) == {}
    assert not FeedCommand.objects.exists()


def test_a_press_after_the_enabling_member_was_removed_is_refused_on_the_result_topic(
    alice: User, bob: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    household = household_of(bob)
    feeder = FeederFactory(owner=bob)
    member_add(household, alice, Role.MEMBER)
    home_assistant_set(user=alice, household_id=household.pk, enabled=True)
    home_assistant.wait(lambda: len(home_assistant.configs(root(household))) == ENTITIES, "the feeder")

    member_remove(user=bob, household_id=household.pk, member_id=alice.pk)
    press, result = f"{root(household)}/feeder/{feeder.pk}/feed", f"{root(household)}/feeder/{feeder.pk}/result"
    after = len(home_assistant.history)
    home_assistant.press(press, "10")
    refusal = result_of(home_assistant, result, after=after)
    assert refusal["result"] == "refused"
    assert "left the household" in str(refusal["detail"])
    assert not FeedCommand.objects.exists()
    # Publishing follows the household, not who is in it: its entities stay.
    assert len(home_assistant.configs(root(household))) == ENTITIES

    home_assistant_set(user=bob, household_id=household.pk, enabled=True)  # a member takes the link over
    after = len(home_assistant.history)
    home_assistant.press(press, "10")
    assert result_of(home_assistant, result, after=after)["result"] == "accepted"
    assert FeedCommand.objects.get().feeder_id == feeder.pk


def test_a_press_or_toggle_after_the_enabling_member_became_a_viewer_is_refused(
    alice: User, bob: User, bridge: Bridge, home_assistant: HomeAssistant
) -> None:
    household = household_of(bob)
    schedule = ScheduleFactory(pet=PetFactory(owner=bob))
    member_add(household, alice, Role.MEMBER)
    home_assistant_set(user=alice, household_id=household.pk, enabled=True)
    state = f"{root(household)}/schedule/{schedule.pk}/state"
    home_assistant.wait(lambda: home_assistant.last.get(state) == b"ON", "the switch on")

    member_role_set(user=bob, household_id=household.pk, member_id=alice.pk, role=Role.VIEWER)
    result = f"{root(household)}/feeder/{schedule.feeder_id}/result"
    after = len(home_assistant.history)
    home_assistant.press(f"{root(household)}/schedule/{schedule.pk}/set", "OFF")
    refusal = result_of(home_assistant, result, after=after)  # on the schedule's feeder's result topic
    assert refusal["result"] == "refused"
    assert str(refusal["detail"]).startswith(f"schedule {schedule.pk}: ")
    assert "may no longer" in str(refusal["detail"])
    assert MealSchedule.objects.get(pk=schedule.pk).enabled is True

    after = len(home_assistant.history)
    home_assistant.press(f"{root(household)}/feeder/{schedule.feeder_id}/feed", "10")
    refusal = result_of(home_assistant, result, after=after)
    assert refusal["result"] == "refused"
    assert "may no longer" in str(refusal["detail"])
    assert home_assistant.last[state] == b"ON"
    assert not FeedCommand.objects.exists()
