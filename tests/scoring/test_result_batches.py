"""Results stored in batches: each caller gets its own outcome, a failing batch falls back to one by one."""

import asyncio
import threading

import pytest

from mira_core.scoring.result_batches import ResultBatches


class _Store:
    """A store that records each batch it was given (as a list of items), slowly enough for others to queue."""

    def __init__(self, bad: set[int] | None = None) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.bad = bad or set()
        self.lock = threading.Lock()

    def many(self, items: list[int]) -> list[int]:
        threading.Event().wait(0.01)
        with self.lock:
            self.batches.append(list(items))
        if self.bad & set(items):
            raise RuntimeError("constraint failed")
        return [i * 10 for i in items]

    def one(self, item: int) -> int:
        self.singles.append(item)
        if item in self.bad:
            raise ValueError(f"item {item} is bad")
        return item * 10


def test_results_that_arrive_together_share_a_write_and_each_caller_gets_its_own_outcome():
    store = _Store()

    async def main() -> list[int]:
        batches = ResultBatches(store.many, store.one)
        return await asyncio.gather(*[batches.store(i) for i in range(50)])

    assert asyncio.run(main()) == [i * 10 for i in range(50)]
    assert sorted(i for b in store.batches for i in b) == list(range(50))  # each stored once
    assert len(store.batches) < 10 and store.singles == []  # far fewer transactions than results


def test_at_most_the_given_number_share_one_write():
    store = _Store()

    async def main() -> None:
        batches = ResultBatches(store.many, store.one, most=8)
        await asyncio.gather(*[batches.store(i) for i in range(30)])

    asyncio.run(main())
    assert max(len(b) for b in store.batches) == 8 and sum(map(len, store.batches)) == 30


def test_a_failing_batch_is_stored_one_by_one_and_only_the_bad_result_fails():
    store = _Store(bad={7})

    async def main() -> list[object]:
        batches = ResultBatches(store.many, store.one)
        return await asyncio.gather(*[batches.store(i) for i in range(12)], return_exceptions=True)

    out = asyncio.run(main())
    assert isinstance(out[7], ValueError) and "item 7" in str(out[7])
    assert [o for i, o in enumerate(out) if i != 7] == [i * 10 for i in range(12) if i != 7]
    assert 7 in store.singles


def test_flush_returns_once_every_queued_result_is_written():
    store = _Store()

    async def main() -> int:
        batches = ResultBatches(store.many, store.one)
        callers = [asyncio.create_task(batches.store(i)) for i in range(20)]
        await asyncio.sleep(0)  # the callers queue their results
        for c in callers[:10]:
            c.cancel()  # a caller that stops waiting does not stop its write
        await batches.flush()
        return sum(map(len, store.batches))

    assert asyncio.run(main()) == 20


@pytest.mark.parametrize("most", [1, 64])
def test_nothing_queued_means_nothing_written(most):
    store = _Store()

    async def main() -> None:
        await ResultBatches(store.many, store.one, most=most).flush()

    asyncio.run(main())
    assert store.batches == []
