"""Run tests.support.oidc_provider as a subprocess and log in through it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from catfeeder.testing import Process, free_port, http_ok, wait_until


class OidcProvider(Process):
    def __init__(self, *, config: dict[str, Any], env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_path = log_dir / f"oidc-{self.port}.json"
        config_path.write_text(json.dumps(config))
        argv = [sys.executable, "-m", "tests.support.oidc_provider", "--port", str(self.port)]
        super().__init__("oidc", [*argv, "--config", str(config_path)], env=env, log_dir=log_dir)
        try:
            check = f"{self.url}/.well-known/openid-configuration"
            wait_until(lambda: self.check_alive() and http_ok(check), timeout=30, what="OIDC provider")
        except TimeoutError:
            self.stop()
            raise TimeoutError(f"the OIDC provider did not answer:\n{self.output()}") from None
