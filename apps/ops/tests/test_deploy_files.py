"""The shipped deployment files (deploy/): HAProxy accepts its configuration, the units run the roles.

`make test` installs Debian's haproxy when it is missing (as it does chromium); a machine
without it skips the HAProxy check and says so.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from catfeeder.runtime.serve import ROLES, WEB_DRAIN, WORKER_STOP
from catfeeder.settings.variables import VARIABLES
from catfeeder.testing import BASE_DIR

DEPLOY = BASE_DIR / "deploy"
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")  # sbin: off a user's PATH
# Read by the web processes' uvicorn (its documented --forwarded-allow-ips default), not by our settings.
NOT_OURS = {"FORWARDED_ALLOW_IPS"}


def self_signed_pem(path: Path, name: str) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    # Clients match the name in subjectAltName only: a DNS name, or an address when clients use one.
    try:
        alt_name: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        alt_name = x509.DNSName(name)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .add_extension(x509.SubjectAlternativeName([alt_name]), critical=False)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key_pem)
    return path


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed (make test installs Debian's package)")
def test_haproxy_accepts_the_shipped_configuration(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CATFEEDER_WEB1": "10.0.0.11:8000",
        "CATFEEDER_WEB2": "10.0.0.12:8000",
        "CATFEEDER_SITE": "feeders.example.com",
        "CATFEEDER_TLS_CERT": str(self_signed_pem(tmp_path / "site.pem", "feeders.example.com")),
    }
    argv = [str(HAPROXY), "-c", "-f", str(DEPLOY / "haproxy.cfg")]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_haproxy_checks_readiness_and_keeps_device_sockets_open() -> None:
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert "uri /health/ready" in config
    assert re.search(r"^\s*timeout tunnel 1h$", config, re.M)
    assert "option forwardfor" in config
    assert "X-Forwarded-Proto https" in config


def unit_lines(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if re.match(r"^[A-Za-z]+=", line))


@pytest.mark.parametrize("role", [role for role in ROLES if role != "all"])
def test_each_role_has_a_unit_that_serves_it_and_outlasts_its_graceful_stop(role: str) -> None:
    unit = unit_lines(DEPLOY / f"catfeeder-{role}.service")
    assert unit["ExecStart"] == f"/opt/catfeeder/.venv/bin/python manage.py serve --role {role}"
    assert unit["EnvironmentFile"] == "/etc/catfeeder/catfeeder.env"
    assert unit["KillMode"] == "mixed"  # SIGTERM to serve alone: it stops its children in order
    assert int(unit["TimeoutStopSec"]) > WEB_DRAIN + 2 + WORKER_STOP
    assert unit["Restart"] == "always"


def test_the_example_environment_file_names_only_real_variables() -> None:
    declared = {variable.name for variable in VARIABLES}
    text = (DEPLOY / "catfeeder.env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M))
    assert named - declared == NOT_OURS
    assert {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"} <= named
