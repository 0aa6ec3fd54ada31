"""allauth adapters: mail goes through a Celery task, too many failed log-ins
answer 429, and social logins link to an existing account only when both
sides have verified the address."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context as allauth_context
from allauth.core import ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest

from apps.accounts.ratelimits import allauth_actions_wait
from apps.notifications.services import OutgoingEmail, email_send


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render now (the links need this request), send later from the worker."""
        request = allauth_context.request
        ctx = {
            "request": request,
            "email": email,
            "current_site": get_current_site(request),
            "product_name": settings.PRODUCT_NAME,
            **context,
        }
        message = self.render_mail(template_prefix, email, ctx)
        email_send(email=OutgoingEmail.from_message(message))

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Over the "login_failed" rates (per address, per account), answer 429 with Retry-After.

        allauth makes that a form error (400 through the app API). Its check
        runs before the password is: the right password is refused too until
        the window ends, or guessing would go on and merely be told when it hit.
        """
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code != "too_many_login_attempts":
                raise
            response = ratelimit.respond_429(request)
            response["Retry-After"] = str(allauth_actions_wait(["login_failed"]))
            raise ImmediateHttpResponse(response) from error


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request: HttpRequest, provider: str, client_id: str | None = None) -> SocialApp:
        """A provider whose app is not set up (environment or admin) is a 404, not a crash.

        allauth mounts every installed provider's URLs whether or not it is configured.
        """
        try:
            return super().get_app(request, provider, client_id)
        except SocialApp.DoesNotExist:
            raise Http404(f"Sign-in with {provider} is not set up.") from None

    def authenticate_by_email(self, sociallogin: SocialLogin) -> tuple[Any, str] | None:
        """Log into (and link) an existing account by e-mail only if its owner verified that address.

        allauth already requires the provider to vouch for the address (and the
        provider to be trusted for it). An unverified local account may have
        been opened by someone else with the victim's address, so it is not
        taken over: the social sign-up form asks for another address, or to
        log in to that account and connect the provider from its page.
        """
        match = super().authenticate_by_email(sociallogin)
        if match is None:
            return None
        user, email = match
        verified = EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()
        return match if verified else None
