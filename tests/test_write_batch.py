"""Group commit (apps.infra.batch) and the process's SQLite writer turn, on the real database:
every item gets its own result, a failing item fails only itself, and the feeders' sign-in
writes keep their meaning from many threads at once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.http import Http404

from apps.accounts.models import User
from apps.feeders.models import Feeder
from apps.feeders.services import presence
from apps.feeders.tests.factories import FeederFactory
from apps.infra.batch import write_together
from apps.infra.db import write_transaction

THREADS = 16
ITEMS = 200

pytestmark = pytest.mark.django_db(transaction=True)


class Refused(Exception):  # noqa: N818 - an item's own failure
    pass


def in_threads(work: list[object], call: object) -> list[object]:
    """call(item) for each item from THREADS threads at once: its result or the exception it raised."""
    start = threading.Barrier(THREADS)

    def one(item: object) -> object:
        try:
            return call(item)  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - compared by the test
            return exc
        finally:
            connections.close_all()  # this thread's: the test database is dropped at the end

    def first(item: object) -> object:
        start.wait()
        return one(item)

    with ThreadPoolExecutor(THREADS) as pool:
        head = list(pool.map(first, work[:THREADS]))
        return head + list(pool.map(one, work[THREADS:]))


def test_each_item_gets_its_own_result_or_its_own_error() -> None:
    def write(items: Sequence[int]) -> list[int | BaseException]:
        return [n * 10 if n % 7 else Refused(n) for n in items]

    results = write_together(write, list(range(ITEMS)))
    assert [r if isinstance(r, int) else ("refused", r.args[0]) for r in results] == [  # type: ignore[union-attr]
        n * 10 if n % 7 else ("refused", n) for n in range(ITEMS)
    ]


def test_a_batch_that_fails_as_a_whole_is_written_one_item_at_a_time_and_rolled_back() -> None:
    feeder = FeederFactory(firmware_version="1.0")
    calls: list[list[int]] = []

    def write(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        Feeder.objects.filter(pk=feeder.pk).update(firmware_version=f"{len(items)}")
        if 13 in items:
            raise Refused(13)
        return list(items)

    results = write_together(write, list(range(40)))
    assert isinstance(results[13], Refused)
    assert results[:13] + results[14:] == [n for n in range(40) if n != 13]
    assert calls[0] == list(range(40))
    assert calls[1:] == [[n] for n in range(40)]
    assert Feeder.objects.get(pk=feeder.pk).firmware_version == "1"  # the whole batch's write rolled back


def test_sign_ins_from_many_threads_leave_every_feeder_online_with_its_hello(alice: User) -> None:
    feeders = [FeederFactory(owner=alice) for _ in range(60)]

    def sign_in(feeder: Feeder) -> str:
        presence.feeder_connect(feeder=feeder, connection_id=f"c{feeder.pk}")
        presence.feeder_hello(feeder=feeder, firmware=f"fw-{feeder.pk}", ip="10.0.0.1")
        return "ok"

    assert in_threads(list(feeders), sign_in) == ["ok"] * len(feeders)
    rows = Feeder.objects.filter(pk__in=[f.pk for f in feeders]).values_list(
        "pk", "is_online", "connection_id", "firmware_version", "last_ip"
    )
    assert sorted(rows) == sorted((f.pk, True, f"c{f.pk}", f"fw-{f.pk}", "10.0.0.1") for f in feeders)


def test_a_hello_of_a_removed_feeder_is_404_and_the_others_in_its_batch_are_written(alice: User) -> None:
    feeders = [FeederFactory(owner=alice) for _ in range(30)]
    gone = feeders[5]
    Feeder.objects.filter(pk=gone.pk).delete()

    def hello(feeder: Feeder) -> str:
        presence.feeder_hello(feeder=feeder, firmware="2.0", ip=None)
        return "ok"

    results = in_threads(list(feeders), hello)
    assert isinstance(results[5], Http404)
    assert results[:5] + results[6:] == ["ok"] * 29
    assert Feeder.objects.filter(firmware_version="2.0").count() == 29


def test_the_writer_turn_is_free_again_after_a_rollback() -> None:
    with pytest.raises(Refused), write_transaction():
        raise Refused
    with write_transaction():  # would wait forever on SQLite if the turn were still held
        assert connection.in_atomic_block


def test_a_hello_inside_a_transaction_is_written_in_it_and_rolled_back_with_it(alice: User) -> None:
    feeder = FeederFactory(owner=alice, firmware_version="1.0")
    seen = []

    def hello_then_fail() -> None:
        with transaction.atomic():
            presence.feeder_hello(feeder=feeder, firmware="9.9", ip=None)
            seen.append(Feeder.objects.get(pk=feeder.pk).firmware_version)
            raise Refused

    with pytest.raises(Refused):
        hello_then_fail()
    assert seen == ["9.9"]
    assert Feeder.objects.get(pk=feeder.pk).firmware_version == "1.0"
