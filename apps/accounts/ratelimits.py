"""Rate limits that allauth does not cover, and the Retry-After it does not send.

The admin login is Django's own view: it gets fixed-window counters in the
shared Redis cache (one atomic INCR per attempt). allauth's 429 answers
(pages and headless JSON) carry no Retry-After; we add it from allauth's own
counters.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from allauth.core.internal import ratelimit as allauth_ratelimit
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

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
        rate = allauth_ratelimit.parse_rate(text)
        return cls(amount=rate.amount, period=math.ceil(rate.duration), per=rate.per)


def client_ip(request: HttpRequest) -> str:
    """The client's address as allauth sees it (ALLAUTH_TRUSTED_PROXY_COUNT applies)."""
    return str(allauth_ratelimit.get_ip(request))


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
    wait = 0
    for text in settings.ADMIN_LOGIN_RATE_LIMITS:
        rate = Rate.parse(text)
        subject = client_ip(request) if rate.per == "ip" else username
        if rate.per == "key" and not subject:
            continue
        wait = max(wait, hit(scope="admin-login", rate=rate, subject=subject))
    return wait


def allauth_retry_after(request: HttpRequest) -> int:
    """Seconds until allauth would let this client's next attempt through.

    Read from allauth's per-IP histories for the view's actions; when none is
    full (a per-key limit said no), the longest period is a safe answer.
    """
    match = request.resolver_match
    actions = ALLAUTH_ACTIONS_BY_URL_NAME.get((match.url_name or "") if match else "", [])
    now, waits, periods = time.time(), [], [60.0]
    for action in actions:
        for rate in allauth_ratelimit.get_rates(app="allauth.account", action=action):
            periods.append(rate.duration)
            if rate.per != "ip":
                continue
            cache_key = allauth_ratelimit.get_cache_key(request, app="allauth.account", action=action, rate=rate)
            history = [t for t in cache.get(cache_key, []) if t > now - rate.duration]  # newest first
            if len(history) >= rate.amount:
                waits.append(history[rate.amount - 1] + rate.duration - now)
    wait = max(waits) if waits else max(periods)
    return max(1, math.ceil(wait))
