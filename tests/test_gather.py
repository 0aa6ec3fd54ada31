"""Gather (apps/infra/aio.py): items of many tasks handled together, each waiter with its own result."""

from __future__ import annotations

import asyncio

from apps.infra.aio import Gather


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.fail_on = fail_on
        self.release = asyncio.Event()

    async def handle(self, items: list[int]) -> list[int]:
        self.calls.append(items)
        await self.release.wait()  # the call is in flight while more items arrive
        if self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on}")
        return [item * 10 for item in items]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_items_that_arrive_during_a_call_are_handled_together_in_the_next() -> None:
    async def run() -> tuple[list[int], list[list[int]]]:
        recorder = Recorder()
        gather: Gather[int, int] = Gather(recorder.handle)
        first = asyncio.ensure_future(gather.submit(1))
        await settle()
        rest = [asyncio.ensure_future(gather.submit(n)) for n in (2, 3, 4)]
        await settle()
        recorder.release.set()
        return list(await asyncio.gather(first, *rest)), recorder.calls

    results, calls = asyncio.run(run())
    assert results == [10, 20, 30, 40]
    assert calls == [[1], [2, 3, 4]]


def test_a_failed_call_fails_each_of_its_items_and_the_next_call_still_runs() -> None:
    async def run() -> tuple[list[object], list[list[int]]]:
        recorder = Recorder(fail_on=2)
        gather: Gather[int, int] = Gather(recorder.handle)
        first = asyncio.ensure_future(gather.submit(1))
        await settle()
        failing = [asyncio.ensure_future(gather.submit(n)) for n in (2, 3)]
        await settle()
        recorder.release.set()
        results = list(await asyncio.gather(first, *failing, return_exceptions=True))
        results.append(await gather.submit(5))  # a new call, after the failed one
        return results, recorder.calls

    results, calls = asyncio.run(run())
    assert results[0] == 10
    assert [str(r) for r in results[1:3]] == ["bad item 2", "bad item 2"]
    assert results[3] == 50
    assert calls == [[1], [2, 3], [5]]


def test_a_waiter_that_gives_up_leaves_the_others_their_answers() -> None:
    async def run() -> tuple[list[int], bool]:
        recorder = Recorder()
        gather: Gather[int, int] = Gather(recorder.handle)
        waiters = [asyncio.ensure_future(gather.submit(n)) for n in (1, 2, 3)]
        await settle()
        waiters[1].cancel()
        await settle()
        recorder.release.set()
        kept = [await waiters[0], await waiters[2]]
        return kept, waiters[1].cancelled()

    kept, cancelled = asyncio.run(run())
    assert kept == [10, 30]
    assert cancelled


def test_a_call_takes_at_most_its_bound_of_items() -> None:
    async def run() -> list[list[int]]:
        recorder = Recorder()
        recorder.release.set()
        gather: Gather[int, int] = Gather(recorder.handle, most=2)
        assert await asyncio.gather(*(gather.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
        return recorder.calls

    assert [len(call) for call in asyncio.run(run())] == [2, 2, 1]


def test_an_item_answered_with_an_exception_raises_it_and_only_it() -> None:
    async def handle(items: list[int]) -> list[int | BaseException]:
        return [ValueError(f"bad {n}") if n == 2 else n * 10 for n in items]

    async def run() -> list[object]:
        gather: Gather[int, int] = Gather(handle)
        return list(await asyncio.gather(*(gather.submit(n) for n in (1, 2, 3)), return_exceptions=True))

    first, second, third = asyncio.run(run())
    assert (first, third) == (10, 30)
    assert isinstance(second, ValueError)
    assert str(second) == "bad 2"
