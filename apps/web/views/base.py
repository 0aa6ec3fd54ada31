"""What every owner page shares: the login and time zone wrapper, service errors
shown on forms, and the names the live script needs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme

from apps.accounts.auth import owner
from apps.api.problems import Problem
from apps.feeders.selectors import devices as device_selectors
from apps.feeders.selectors import pets as pet_selectors
from apps.households.roles import Role
from apps.households.selectors import membership_require
from apps.web.current import current

if TYPE_CHECKING:
    from apps.accounts.models import User

T = TypeVar("T")
View = Callable[..., HttpResponse]
RECENT = 10  # visits and feedings on the dashboard
PAGE_SIZE = 50  # history rows per page


def owner_page(view: View) -> View:
    """Logged in (OwnerTimeZoneMiddleware has put times in the owner's own time zone); a role that
    may not (403) or a household not theirs (404) is the site's error page, as any other."""

    @functools.wraps(view)
    def page(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Problem as exc:
            if exc.status == 403:
                raise PermissionDenied(exc.detail) from exc
            if exc.status == 404:
                raise Http404(exc.detail) from exc
            raise

    return login_required(page)


def role_for(request: HttpRequest) -> Role:
    """What a page that shows a row on GET and saves it on POST needs of the acting user's role."""
    return Role.MEMBER if request.method == "POST" else Role.VIEWER


def service_call(form: forms.Form, action: Callable[[], T], *, field: str | None = None) -> T | None:
    """Run a service; its error goes next to the field it names (or `field`), and None is returned."""
    try:
        return action()
    except Problem as exc:
        for error in exc.errors or []:
            name = str(error["loc"][-1]).removesuffix("_id")
            msg = str(error["msg"])  # capitalize() would lower the names inside it ("at Kitchen")
            form.add_error(name if name in form.fields else None, f"{msg[:1].upper()}{msg[1:]}.")
        if not exc.errors:
            form.add_error(field if field in form.fields else None, exc.detail)
        return None


def form_status(form: forms.Form | None) -> int:
    """422 for a page sent back with its form's errors (the browser shows it all the same)."""
    return 422 if form is not None and form.is_bound and form.errors else 200


def back_to(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if target and allowed else default


def live_names(user: User, household: int | None) -> dict[str, dict[int, str]]:
    """Names the page's script needs to show live events (they carry ids only): those of the household
    the page shows, so that it leaves out the events of the user's other households."""
    return {
        "pets": dict(pet_selectors.pet_list(user=user, household=household).values_list("pk", "name")),
        "feeders": dict(device_selectors.feeder_list(user=user, household=household).values_list("pk", "name")),
    }


def new_rows_allowed(request: HttpRequest) -> None:
    """A page whose form adds a row to the current household: 403 for a viewer there, as its post is.

    A user in no household may: their first row makes them one (household_for_write).
    """
    household_id = current(request).id
    if household_id is not None:
        membership_require(user=owner(request), household_id=household_id, role=Role.MEMBER)
