"""The owner pages' forms. They check the shape of input; the rules stay in the services.

Every choice of a related row (a pet's collar tag, a schedule's feeder) is
limited to the rows of one of the acting user's households (the one the page
shows), so another household's id is just an invalid choice, shown next to its field.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import QuerySet

from apps.api.types import safe_text
from apps.feeders.models.feeding import MAX_PORTION_GRAMS
from apps.feeders.models.fields import normalize_mac
from apps.feeders.models.pets import MAX_PERIOD_MINUTES
from apps.feeders.schemas import HHMM
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.feeders.models import Beacon, Feeder, Pet

DAYS = [(1, "Mon"), (2, "Tue"), (3, "Wed"), (4, "Thu"), (5, "Fri"), (6, "Sat"), (7, "Sun")]
MAX_TIMES = 24  # meals a day in one schedule, as the API allows


def _zones() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


class MacField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Six hex pairs, e.g. AA:BB:CC:DD:EE:FF.")
        super().__init__(max_length=17, **kwargs)
        self.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            return normalize_mac(value)
        except ValueError as exc:
            raise forms.ValidationError("Not a MAC address: six hex pairs, e.g. AA:BB:CC:DD:EE:FF.") from exc


class GramsField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_PORTION_GRAMS, **kwargs)


def _no_control_characters(value: str) -> None:
    try:
        safe_text(value)
    except ValueError as exc:
        raise forms.ValidationError(f"{exc}.") from None


# A history filter's days become local midnights (the end's the day after): the
# first and last days of the calendar would fall outside it, so they are refused.
HISTORY_DAYS = [
    MinValueValidator(dt.date(1, 1, 2), "Give a day after 0001-01-01."),
    MaxValueValidator(dt.date(9999, 12, 30), "Give a day before 9999-12-31."),
]


# A text box, not <input type=time>: that one shows "07:00 AM" or "07:00" after the browser's
# locale, and every time an owner reads is written one way (24-hour HH:MM).
HHMM_INPUT = {"pattern": "[0-2][0-9]:[0-5][0-9]", "placeholder": "HH:MM", "inputmode": "numeric", "size": "5"}


class WebForm(forms.Form):
    """Labels without Django's trailing colon; text without control characters, as the API's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators.append(_no_control_characters)


class OwnerForm(WebForm):
    """A form whose choices are the rows of `household` (every household of the owner's when None);
    a choice of one is made already."""

    def __init__(self, *args: Any, owner: User, household: int | None = None, **kwargs: Any) -> None:
        self.owner, self.household = owner, household
        super().__init__(*args, **kwargs)

    def choose(self, name: str, rows: QuerySet[Any], *, only_one: bool = True) -> None:
        field = self.fields[name]
        field.queryset = rows  # type: ignore[attr-defined]
        if only_one and field.required and not self.initial.get(name) and len(rows[:2]) == 1:
            self.initial[name] = rows[0].pk


class FeederChoiceField(forms.ModelChoiceField["Feeder"]):
    """A feeder by its name; a MAC address is no help in a menu."""

    def label_from_instance(self, obj: Feeder) -> str:
        return obj.name


class FeederForm(WebForm):
    name = forms.CharField(max_length=100)
    mac = MacField(label="Wi-Fi MAC address")
    time_zone = forms.ChoiceField(choices=_zones, initial="UTC")
    city = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=100, required=False)


class FeederPetsForm(OwnerForm):
    """A feeder's access list: the owner's pets, ticked when they may eat there."""

    pet_ids: forms.ModelMultipleChoiceField[Pet] = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Pets that may eat here",
        help_text="An unticked pet is refused at this bowl. A pet you add later may eat at every feeder.",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose("pet_ids", pet_selectors.pet_list(user=self.owner, household=self.household), only_one=False)


class BeaconForm(WebForm):
    name = forms.CharField(max_length=100, help_text="What the collar tag is called, e.g. “Blue collar”.")
    mac = MacField(label="Bluetooth MAC address")


class PetForm(OwnerForm):
    name = forms.CharField(max_length=100)
    beacon: forms.ModelChoiceField[Beacon] = forms.ModelChoiceField(
        queryset=None, required=False, label="Collar tag", empty_label="No collar tag"
    )
    allowance_grams = forms.IntegerField(
        label="Allowance (g per period)", min_value=0, max_value=10_000, initial=80,
        help_text="Food allowed per period; 0 stops all feeding.",
    )  # fmt: skip
    period_minutes = forms.IntegerField(
        label="Period (minutes)", min_value=1, max_value=MAX_PERIOD_MINUTES, initial=1440, help_text="1440 = 24 hours."
    )
    period_anchor = forms.TimeField(
        label="Period starts at", initial="00:00", widget=forms.TimeInput(HHMM_INPUT, format="%H:%M"),
        help_text="Local time in the pet's time zone.",
    )  # fmt: skip
    time_zone = forms.ChoiceField(choices=_zones, initial="UTC")
    breed = forms.CharField(max_length=100, required=False)
    birth_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    weight_grams = forms.IntegerField(label="Weight (g)", required=False, min_value=1, max_value=200_000)
    microchip_id = forms.CharField(label="Microchip", max_length=32, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose("beacon", device_selectors.beacon_list(user=self.owner, household=self.household))


class ScheduleFields(WebForm):
    times = forms.CharField(
        label="Meal times", max_length=24 * 6, help_text="Local times HH:MM, separated by commas: 07:00, 18:30."
    )
    days_of_week = forms.TypedMultipleChoiceField(
        label="Days", choices=DAYS, coerce=int, widget=forms.CheckboxSelectMultiple, initial=[d for d, _ in DAYS]
    )
    grams = GramsField(label="Grams per meal")
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_times(self) -> list[str]:
        times = [t.strip() for t in str(self.cleaned_data["times"]).replace(";", ",").split(",") if t.strip()]
        wrong = [t for t in times if not HHMM.match(t)]
        if wrong:
            raise forms.ValidationError(f"Not a time of day HH:MM: {', '.join(wrong)}.")
        if not times:
            raise forms.ValidationError("Give at least one time, e.g. 07:00.")
        if len(set(times)) > MAX_TIMES:
            raise forms.ValidationError(f"At most {MAX_TIMES} meals a day.")
        return sorted(set(times))


class ScheduleCreateForm(OwnerForm, ScheduleFields):
    pet: forms.ModelChoiceField[Pet] = forms.ModelChoiceField(queryset=None)
    feeder: FeederChoiceField = FeederChoiceField(queryset=None)

    field_order = ("pet", "feeder", "times", "days_of_week", "grams", "enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose("pet", pet_selectors.pet_list(user=self.owner, household=self.household))
        self.choose("feeder", device_selectors.feeder_list(user=self.owner, household=self.household))


class FeedNowForm(OwnerForm):
    feeder: FeederChoiceField = FeederChoiceField(queryset=None)
    pet: forms.ModelChoiceField[Pet] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Nobody in particular"
    )
    grams = GramsField(initial=10, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose("feeder", device_selectors.feeder_list(user=self.owner, household=self.household))
        self.choose("pet", pet_selectors.pet_list(user=self.owner, household=self.household))


class PhotoForm(WebForm):
    file = forms.FileField(
        label="New photo", widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"})
    )


class HistoryFilterForm(OwnerForm):
    KINDS = [("all", "Visits and feedings"), ("visits", "Visits"), ("feedings", "Feedings")]

    kind = forms.ChoiceField(choices=KINDS, required=False, label="Show")
    pet: forms.ModelChoiceField[Pet] = forms.ModelChoiceField(queryset=None, required=False, empty_label="All pets")
    feeder: FeederChoiceField = FeederChoiceField(queryset=None, required=False, empty_label="All feeders")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}), validators=HISTORY_DAYS
    )
    until = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}), validators=HISTORY_DAYS
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choose("pet", pet_selectors.pet_list(user=self.owner, household=self.household))
        self.choose("feeder", device_selectors.feeder_list(user=self.owner, household=self.household))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end is before the start.")
        return data
