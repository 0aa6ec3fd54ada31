"""CHANNEL_REDIS_URLS: the channel layer sharded over several Redis servers, or a clear refusal.

That the shards carry real sockets' events is shown by the cluster tests (tests/cluster/).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from catfeeder.settings.catalog import setting_validate, settings_effective
from catfeeder.testing import BASE_DIR, process_env

SHOW_HOSTS = (
    "import json; from django.conf import settings; config = settings.CHANNEL_LAYERS['default']['CONFIG'];"
    "print(json.dumps([[h['address'] for h in config['hosts']], config['prefix']]))"
)


def django(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    argv = (sys.executable, "manage.py", *argv)
    environment = process_env(**env)
    return subprocess.run(argv, capture_output=True, text=True, env=environment, cwd=BASE_DIR, timeout=60, check=False)


def test_the_layer_is_sharded_over_every_url_in_order_with_the_first_ones_prefix() -> None:
    urls = ["redis://10.0.0.31:6379/3", "redis://10.0.0.32:6379/3"]
    done = django("shell", "-v0", "-c", SHOW_HOSTS, CHANNEL_REDIS_URLS=",".join(urls))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [urls, "asgi-db3-"]


def test_without_it_the_layer_is_on_redis_url_alone() -> None:
    done = django("shell", "-v0", "-c", SHOW_HOSTS, CHANNEL_REDIS_URLS="", REDIS_URL="redis://10.0.0.31:6379/0")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [["redis://10.0.0.31:6379/0"], "asgi"]


@pytest.mark.parametrize(
    "value", ["redis://10.0.0.31:6379/0,http://10.0.0.32/", "10.0.0.31:6379", "sentinel://10.0.0.31:26379/mymaster"]
)
def test_a_url_that_is_not_redis_stops_start_up_naming_the_variable(value: str) -> None:
    done = django("check", CHANNEL_REDIS_URLS=value)
    assert done.returncode != 0
    assert done.stderr.strip() == "catfeeder: CHANNEL_REDIS_URLS: expected redis://, rediss:// or unix://."


@pytest.mark.parametrize("name", ["REDIS_URL", "CHANNEL_REDIS_URLS"])
def test_settings_store_refuses_a_sentinel_url(name: str) -> None:
    """Redis Sentinel is not supported (docs/deploy.md): `manage.py settings --store` says so."""
    with pytest.raises(ValueError, match=r"expected redis://, rediss:// or unix://"):
        setting_validate(name=name, value="sentinel://10.0.0.31:26379/mymaster")


def test_manage_settings_masks_the_password_of_every_url(tmp_path: Path) -> None:
    urls = "redis://:first-secret@10.0.0.31:6379/0,redis://:second-secret@10.0.0.32:6379/0"
    rows = settings_effective(env_file=tmp_path / ".env", environment={"CHANNEL_REDIS_URLS": urls})
    [row] = [row for row in rows if row.name == "CHANNEL_REDIS_URLS"]
    assert row.value == "redis://:********@10.0.0.31:6379/0,redis://:********@10.0.0.32:6379/0"
