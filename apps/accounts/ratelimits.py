"""Rate limits that allauth does not cover, and the Retry-After it does not send.

The admin login is Django's own view: it gets fixed-window counters in the
shared Redis cache (one atomic INCR per attempt); so do pairing attempts
(apps.feeders). allauth's 429 answers (pages and headless JSON) carry no
Retry-After; we add the longest period of the action's rates
(ACCOUNT_RATE_LIMITS), after which allauth lets the client through again:
its windows slide and refused attempts are not recorded, so once that period
passes with no attempt every window is empty. Both read only allauth's
documented settings and adapter.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import time
from dataclasses import dataclass

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

IPV6_PREFIX = 64  # bits: an IPv6 client's whole network counts as one address, as allauth counts it
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}  # allauth's rate periods
RATE = re.compile(r"(?P<amount>\d+)/(?P<count>\d*(?:\.\d+)?)(?P<unit>[smhd])(?:/(?P<per>\w+))?")
DEFAULT_WAIT = 60  # seconds, when a view's rates are not configured

# Which allauth actions guard which views (allauth's URL names, pages and headless).
ALLAUTH_ACTIONS_BY_URL_NAME = {
    "account_login": ["login"],
    "login": ["login"],
    "account_signup": ["signup"],
    "signup": ["signup"],
    "account_reset_password": ["reset_password"],
    "request_password_reset": ["reset_password"],
    "account_reset_password_from_key": ["reset_password_from_key"],
    "reset_password": ["reset_password_from_key"],
}


@dataclass(frozen=True)
class Rate:
    amount: int
    period: int  # seconds
    per: str  # "ip" or "key"

    @classmethod
    def parse(cls, text: str) -> Rate:
        """allauth's syntax: amount/period[/per], a period such as "m", "5m" or "0.5h"; per defaults to "ip"."""
        match = RATE.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"not a rate (amount/period/per, e.g. 10/5m/ip): {text!r}")
        period = float(match["count"] or 1) * UNITS[match["unit"]]
        return cls(amount=int(match["amount"]), period=max(1, math.ceil(period)), per=match["per"] or "ip")


def rates(text: str | None) -> list[Rate]:
    """A comma-separated list of rates (an ACCOUNT_RATE_LIMITS value)."""
    return [Rate.parse(part) for part in (text or "").split(",") if part.strip()]


def client_ip(request: HttpRequest) -> str:
    """The client's address as allauth's adapter sees it (ALLAUTH_TRUSTED_PROXY_COUNT applies)."""
    return address_counted(str(get_adapter(request).get_client_ip(request)))


def address_counted(ip: str) -> str:
    """The address a limit counts: an IPv6 client's whole /64 network."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.IPv6Network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    return ip


def hit(*, scope: str, rate: Rate, subject: str, now: float | None = None) -> int:
    """Count one attempt; returns 0 if allowed, else the seconds until the window resets."""
    now = time.time() if now is None else now
    window = int(now // rate.period)
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    key = f"rl:{scope}:{rate.per}:{rate.amount}/{rate.period}:{digest}:{window}"
    # A key of its own per window: it can never outlive its window by more than the timeout.
    cache.add(key, 0, timeout=rate.period + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a fresh window
        cache.add(key, 1, timeout=rate.period + 5)
        count = 1
    if count <= rate.amount:
        return 0
    return max(1, math.ceil((window + 1) * rate.period - now))


def admin_login_retry_after(request: HttpRequest) -> int:
    """Count an admin login attempt; 0 if allowed, else seconds to wait."""
    username = str(request.POST.get("username", "")).strip().lower()
    subjects = {"ip": client_ip(request), "key": username}
    return attempt_count(scope="admin-login", rates=settings.ADMIN_LOGIN_RATE_LIMITS, subjects=subjects)


def attempt_count(*, scope: str, rates: list[str], subjects: dict[str, str]) -> int:
    """Count one attempt against each rate, for the subject its `per` names ("ip", "key").

    Returns 0 if every rate allows it, else the seconds until the last one
    that refuses it lets the subject through. A rate without a subject (no
    name given) does not count.
    """
    wait = 0
    for text in rates:
        rate = Rate.parse(text)
        if subject := subjects.get(rate.per, ""):
            wait = max(wait, hit(scope=scope, rate=rate, subject=subject))
    return wait


def allauth_retry_after(request: HttpRequest) -> int:
    """Seconds after which allauth lets this client try the view's actions again.

    allauth counts in sliding windows: once the longest of the view's periods
    has passed without an attempt, every window is empty again.
    """
    match = request.resolver_match
    actions = ALLAUTH_ACTIONS_BY_URL_NAME.get((match.url_name or "") if match else "", [])
    return allauth_actions_wait(actions)


def allauth_actions_wait(actions: list[str]) -> int:
    """The longest period of these allauth actions' rates, in seconds."""
    configured = getattr(settings, "ACCOUNT_RATE_LIMITS", None) or {}
    periods = [rate.period for action in actions for rate in rates(configured.get(action))]
    return max(periods, default=DEFAULT_WAIT)
