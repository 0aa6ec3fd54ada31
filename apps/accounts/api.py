from __future__ import annotations

from allauth.usersessions.models import UserSession
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router

from apps.accounts.auth import owner
from apps.accounts.models import User
from apps.accounts.schemas import MeDeleteIn, MeOut, MeUpdateIn, SessionOut
from apps.accounts.selectors import user_email_verified, user_session_get, user_session_list
from apps.accounts.services import user_delete, user_session_end, user_sessions_end_all, user_update
from apps.api.auth import request_session_key
from apps.api.problems import Problem, responses

router = Router()
sessions_router = Router()


def me_out(user: User) -> MeOut:
    return MeOut(
        id=user.pk,
        email=user.email,
        name=user.name,
        time_zone=user.time_zone,
        date_joined=user.date_joined,
        email_verified=user_email_verified(user=user),
    )


@router.get("", response=responses({200: MeOut}), summary="My profile")
def me_read(request: HttpRequest) -> MeOut:
    return me_out(owner(request))


@router.patch("", response=responses({200: MeOut}), summary="Change my profile")
def me_update(request: HttpRequest, payload: MeUpdateIn) -> MeOut:
    user = user_update(user=owner(request), data=payload.model_dump(exclude_unset=True))
    return me_out(user)


@router.delete(
    "",
    response=responses({204: None}),
    summary="Delete my account",
    description="Deletes the account with everything it owns (feeders, pets, history, photos) "
    "and ends every session and app token. Confirm with the password.",
)
def me_delete(request: HttpRequest, payload: MeDeleteIn) -> HttpResponse:
    user = owner(request)
    if not user.check_password(payload.password):
        raise Problem(403, "The password is not right.", kind="wrong-password")
    user_delete(user=user)
    return HttpResponse(status=204)


def session_out(session: UserSession, current_key: str | None) -> SessionOut:
    return SessionOut(
        id=session.pk,
        client="app" if session.data.get("client") == "app" else "browser",
        ip=session.ip,
        user_agent=session.user_agent,
        created_at=session.created_at,
        last_seen_at=session.last_seen_at,
        current=session.session_key == current_key,
    )


@sessions_router.get("", response=responses({200: list[SessionOut]}), summary="My sessions and app tokens")
def sessions_list(request: HttpRequest) -> list[SessionOut]:
    current_key = request_session_key(request)
    return [session_out(s, current_key) for s in user_session_list(user=owner(request))]


@sessions_router.delete("/{session_id}", response=responses({204: None}), summary="Log one session out")
def sessions_end_one(request: HttpRequest, session_id: int) -> HttpResponse:
    session = user_session_get(user=owner(request), session_id=session_id)
    if session is None:
        raise Http404
    user_session_end(session=session)
    return HttpResponse(status=204)


@sessions_router.delete(
    "",
    response=responses({204: None}),
    summary="Log out everywhere",
    description="Ends every browser session and app token of the account, this one included.",
)
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    user_sessions_end_all(user=owner(request))
    return HttpResponse(status=204)
