from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import structlog
from django.conf import settings

from catfeeder.runtime.logs import logging_config


@pytest.fixture
def streams(tmp_path: Any) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The project's LOGGING for production (JSON console and files), both handlers on streams of ours."""
    config = logging_config(level="INFO", log_dir=tmp_path, console="json", file_bytes=10**6, total_bytes=10**7)
    first, second = io.StringIO(), io.StringIO()
    config["handlers"] = {
        "one": {**config["handlers"]["console"], "stream": first},
        "two": {**config["handlers"]["console"], "stream": second},
    }
    config["root"]["handlers"] = ["one", "two"]
    logging.config.dictConfig(config)
    try:
        yield first, second
    finally:
        logging.config.dictConfig(settings.LOGGING)  # the test run's own


def test_a_record_is_formatted_once_for_every_handler_sharing_the_formatter(
    streams: tuple[io.StringIO, io.StringIO],
) -> None:
    with mock.patch.object(structlog.stdlib.ProcessorFormatter, "format", autospec=True,
                           side_effect=structlog.stdlib.ProcessorFormatter.format) as formatting:  # fmt: skip
        logging.getLogger("apps.ops.web").info("GET %s %s", "/api/feeders", 200, extra={"status": 200})
        logging.getLogger("apps.ops.web").info("GET %s %s", "/api/pets", 200, extra={"status": 200})
    first, second = (json.loads(line) for line in streams[0].getvalue().splitlines()), streams[1].getvalue()
    assert formatting.call_count == 2  # one per record, not one per record and handler
    assert streams[0].getvalue() == second
    assert [(e["event"], e["status"]) for e in first] == [("GET /api/feeders 200", 200), ("GET /api/pets 200", 200)]
