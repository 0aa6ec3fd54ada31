"""Accounts: users, django-allauth (with headless for apps), sessions, social log-in, passwords."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from catfeeder.settings.environment import Environment, env

AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    # Django's and allauth's, with the users they read kept per process (apps/accounts/backends.py).
    "apps.accounts.backends.ModelBackend",  # the admin
    "apps.accounts.backends.AuthenticationBackend",
]

PRODUCT_NAME = "Cat Feeder"  # in every page title, mail subject and mail body
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.forms.SignupTimeZoneForm"  # the browser's time zone, hidden
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
# Verification by a code in the mail, typed into the page or posted by an app
# (/_allauth/app/v1/auth/email/verify): an app cannot follow a browser link.
# allauth's code flow needs "mandatory": log-in waits for the code too (a new
# one is mailed at each log-in until then). Social log-ins may still bring an
# unverified address, so pairing checks it (apps.accounts.selectors.user_email_verified).
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 900  # seconds a code works
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS = 3  # wrong codes before the pending sign-up or log-in ends
ACCOUNT_CHANGE_EMAIL = True  # one address per owner: a new one replaces the old once verified
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password/e-mail changed" mails
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"{PRODUCT_NAME}: "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # keep this session; every other one ends (the hash changes)
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300  # seconds a password re-entry counts for deleting the account
PASSWORD_RESET_TIMEOUT = 3600  # seconds a password reset link works
ACCOUNT_SESSION_REMEMBER = True
# Browser sessions and app tokens (allauth headless "app" sessions) are both
# server-side sessions in the database. A browser session lasts this long from
# log-in; an app token this long from its last use (apps.api.auth renews it).
SESSION_COOKIE_AGE = env.read_int("SESSION_AGE_DAYS") * 86400  # seconds
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "web:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# Rates (allauth's syntax: amount/period/per) need the shared Redis cache.
# Every POST to a login form counts toward "login"; every password check
# toward "login_failed", taken back when the password is right. Either one
# spent answers 429 with Retry-After (apps.accounts.adapters), the right
# password included.
ACCOUNT_RATE_LIMITS = {
    "login": "20/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip",
    "reset_password": "10/m/ip,3/h/key",  # key: the address, so nobody floods someone's inbox
    "reset_password_from_key": "20/m/ip",
}
# The admin login is Django's, which allauth does not limit (see apps.accounts.middleware).
ADMIN_LOGIN_RATE_LIMITS = ["10/m/ip", "10/15m/key"]
ALLAUTH_TRUSTED_PROXY_COUNT = env.read_int("TRUSTED_PROXY_COUNT")  # proxies adding X-Forwarded-For

HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_TOKEN_STRATEGY = "apps.api.auth.OneReadSessionTokenStrategy"  # noqa: S105 - a class; one session read per request
HEADLESS_SERVE_SPECIFICATION = True  # /_allauth/openapi.json and .html, linked from /api/docs
HEADLESS_SPECIFICATION_TEMPLATE_NAME = "headless/spec/swagger_local.html"
USERSESSIONS_TRACK_ACTIVITY = True  # "last seen" in the session list

SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_LOGIN_ON_GET = False  # the provider button POSTs (CSRF) before leaving the site
# A social login whose provider-verified address matches an existing account
# logs into it and links the provider, but only when that account's own
# address is verified too (SocialAccountAdapter); which providers are trusted
# to verify addresses is per provider below (or per SocialApp: settings
# {"email_authentication": true}).
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "optional"
SOCIALACCOUNT_STORE_TOKENS = False  # we only log people in; we never call the providers' APIs


def social_providers(env: Environment) -> dict[str, dict[str, object]]:
    """Provider settings; a provider gets an app from the environment only if
    its client id is set (otherwise add a SocialApp in the admin)."""
    providers: dict[str, dict[str, object]] = {
        "google": {
            "SCOPE": ["openid", "profile", "email"],
            "AUTH_PARAMS": {"access_type": "online"},
            "OAUTH_PKCE_ENABLED": True,
            "EMAIL_AUTHENTICATION": True,  # Google says whether it verified the address
        },
        "github": {"SCOPE": ["user:email"], "EMAIL_AUTHENTICATION": True},  # per-address "verified" flag
        "openid_connect": {"OAUTH_PKCE_ENABLED": True},
    }
    clients = {
        "google": ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"),
        "github": ("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"),
    }
    for name, (id_variable, secret_variable) in clients.items():
        if client_id := env.read_str(id_variable):
            secret = _required_with(env, secret_variable, id_variable)
            providers[name]["APPS"] = [{"client_id": client_id, "secret": secret}]
    if client_id := env.read_str("OIDC_CLIENT_ID"):
        providers["openid_connect"]["APPS"] = [
            {
                "provider_id": env.read_str("OIDC_PROVIDER_ID"),
                "name": env.read_str("OIDC_NAME"),
                "client_id": client_id,
                "secret": env.read_str("OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": _required_with(env, "OIDC_SERVER_URL", "OIDC_CLIENT_ID"),
                    "oauth_pkce_enabled": True,
                    # Trust this server's "email_verified" claim to log into existing accounts?
                    "email_authentication": env.read_bool("OIDC_EMAIL_AUTHENTICATION"),
                },
            }
        ]
    return providers


def _required_with(env: Environment, name: str, because: str) -> str:
    if value := env.read_str(name):
        return value
    raise ImproperlyConfigured(f"{name} is not set ({because} is).")


SOCIALACCOUNT_PROVIDERS = social_providers(env)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
