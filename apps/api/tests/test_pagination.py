from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import User
from apps.feeders.tests.factories import FeederFactory

pytestmark = pytest.mark.django_db


def page(client: Client, query: str) -> tuple[dict[str, object], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/feeders?{query}")
    assert response.status_code == 200
    return response.json(), [q["sql"] for q in queries.captured_queries if "feeders_feeder" in q["sql"]]


@pytest.mark.parametrize(
    ("query", "names", "counted"),
    [
        ("limit=5", [0, 1, 2, 3, 4], False),  # everything on one exactly full page
        ("limit=10", [0, 1, 2, 3, 4], False),  # one page with room to spare
        ("limit=2", [0, 1], True),  # more rows follow: COUNT
        ("limit=2&offset=2", [2, 3], True),
        ("limit=2&offset=4", [4], False),  # the last page
        ("limit=3&offset=2", [2, 3, 4], False),  # the last page, exactly full
        ("limit=2&offset=9", [], True),  # past the end: only COUNT knows the total
    ],
)
def test_count_is_the_total_whether_or_not_it_is_counted(
    as_alice: Client, alice: User, query: str, names: list[int], counted: bool
) -> None:
    for n in range(5):
        FeederFactory(owner=alice, name=f"Feeder {n}")
    body, feeder_sql = page(as_alice, query)
    assert body["count"] == 5
    assert [item["name"] for item in body["items"]] == [f"Feeder {n}" for n in names]  # type: ignore[attr-defined]
    assert any("COUNT(" in sql for sql in feeder_sql) == counted
    assert len(feeder_sql) == (2 if counted else 1)


def test_an_empty_list_counts_nothing(as_alice: Client) -> None:
    body, feeder_sql = page(as_alice, "")
    assert body == {"items": [], "count": 0}
    assert len(feeder_sql) == 1
