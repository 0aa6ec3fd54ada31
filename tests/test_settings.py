"""Production mode (DJANGO_DEBUG=false) refuses to start without its secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from catfeeder.testing import BASE_DIR, process_env

GOOD_KEY = "k3y-" + "x7Qp9Lm2Zt" * 6


def manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    environment = process_env(DJANGO_SETTINGS_MODULE="catfeeder.settings.base", DJANGO_DEBUG="false", **env)
    argv = [sys.executable, "manage.py", "check"]
    return subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=60, check=False)


def test_production_without_a_secret_key_fails_naming_it() -> None:
    done = manage_check(DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="feeders.example.com")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_production_names_every_missing_setting_at_once() -> None:
    done = manage_check(DJANGO_SECRET_KEY="", DJANGO_ALLOWED_HOSTS="")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr
    assert "DJANGO_ALLOWED_HOSTS is not set" in done.stderr


def test_production_refuses_the_development_key() -> None:
    key = "django-insecure-development-only-key-do-not-use-in-production"
    done = manage_check(DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS="feeders.example.com")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not a real secret" in done.stderr


def test_production_starts_with_its_secrets() -> None:
    done = manage_check(DJANGO_SECRET_KEY=GOOD_KEY, DJANGO_ALLOWED_HOSTS="feeders.example.com")
    assert done.returncode == 0, done.stderr


def test_the_asgi_app_refuses_to_load_without_a_secret_key_too() -> None:
    environment = process_env(
        DJANGO_SETTINGS_MODULE="catfeeder.settings.base", DJANGO_DEBUG="false", DJANGO_SECRET_KEY=""
    )
    argv = [sys.executable, "-c", "import catfeeder.asgi"]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in done.stderr


def test_a_fresh_checkout_migrates_without_a_var_folder(tmp_path: object) -> None:
    var_dir = f"{tmp_path}/fresh/var"  # does not exist yet
    environment = process_env(DJANGO_SETTINGS_MODULE="catfeeder.settings.base", CATFEEDER_VAR_DIR=var_dir)
    environment.pop("DATABASE_URL")  # the embedded SQLite default, in that folder
    argv = [sys.executable, "manage.py", "migrate", "--no-input", "-v0"]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_without_email_url_mail_is_written_to_var_mail_by_absolute_path(tmp_path: Path) -> None:
    environment = process_env(DJANGO_SETTINGS_MODULE="catfeeder.settings.base", CATFEEDER_VAR_DIR=str(tmp_path))
    environment.pop("EMAIL_URL", None)
    code = "from django.conf import settings as s; print(s.EMAIL_BACKEND); print(s.EMAIL_FILE_PATH)"
    argv = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    done = subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["django.core.mail.backends.filebased.EmailBackend", f"{tmp_path}/mail"]
