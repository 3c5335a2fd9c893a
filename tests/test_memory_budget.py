"""The one memory budget: caches counted in bytes, evicted least recently used across caches,
reservations refused when they cannot fit (cnnlab/memory/budget.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnnlab.memory import budget as mb


def test_least_recently_used_entry_of_any_cache_goes_first():
    budget = mb.Budget(limit_bytes=1000)
    data, models = mb.ByteCache("data", budget), mb.ByteCache("models", budget)
    data.put("d1", "D1", 400)
    models.put("m1", "M1", 400)
    assert data.get("d1") == "D1"  # d1 is now newer than m1
    data.put("d2", "D2", 400)  # needs room: m1, the least recently used of both caches, goes
    assert models.get("m1") is None and data.get("d1") == "D1" and data.get("d2") == "D2"
    assert budget.used_bytes() == 800 <= budget.limit_bytes()


def test_an_entry_larger_than_the_budget_is_not_kept_and_evicts_nothing():
    budget = mb.Budget(limit_bytes=1000)
    cache = mb.ByteCache("c", budget)
    cache.put("small", 1, 300)
    cache.put("huge", 2, 5000)
    assert cache.get("huge") is None and cache.get("small") == 1


def test_reservations_evict_caches_and_refuse_what_cannot_fit():
    budget = mb.Budget(limit_bytes=1000)
    cache = mb.ByteCache("c", budget)
    cache.put("a", 1, 700)
    with budget.reserve(600, "job one"):
        assert cache.get("a") is None  # evicted to make room
        assert budget.reserved_bytes() == 600
        with pytest.raises(mb.MemoryBudgetError, match=r"job two needs 0 MB.*CNNLAB_MEMORY_MB"):
            with budget.reserve(500, "job two"):
                pass  # pragma: no cover
        cache.put("b", 2, 500)  # does not fit beside the reservation: not kept
        assert cache.get("b") is None
    assert budget.reserved_bytes() == 0
    with budget.reserve(900, "job three"):
        pass


def test_check_names_the_sizes_in_megabytes():
    budget = mb.Budget(limit_bytes=100 * mb.MB)
    budget.check(50 * mb.MB, "fine")
    with pytest.raises(mb.MemoryBudgetError) as info:
        budget.check(300 * mb.MB, "a data set of 1,364 images at 512×512×3")
    assert "needs 300 MB" in str(info.value) and "100 MB left of its 100 MB" in str(info.value)


def test_nbytes_counts_arrays_inside_containers_once():
    array = np.zeros((10, 10), np.float32)  # 400 bytes
    assert mb.nbytes_of(array) == 400
    assert mb.nbytes_of({"a": array, "b": [array, array[2:]]}) == 400  # a view of it: no more
    assert mb.nbytes_of((np.zeros(3, np.uint8), b"12345")) == 8


def test_get_or_build_builds_once_for_concurrent_callers():
    budget = mb.Budget(limit_bytes=10_000)
    cache = mb.ByteCache("c", budget)
    calls, gate = [], threading.Event()

    def build():
        calls.append(1)
        gate.wait(5)
        return np.zeros(100, np.uint8)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_build("k", build)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and all(r is results[0] for r in results)
    assert cache.nbytes() == 100


def test_lowering_the_limit_evicts_down_to_it():
    budget = mb.Budget(limit_bytes=1000)
    cache = mb.ByteCache("c", budget)
    for key in "abc":
        cache.put(key, key, 300)
    budget.set_limit(400)
    assert cache.keys() == ["c"]


@pytest.mark.parametrize("raw", ["0", "abc", "-5", "1.5"])
def test_a_malformed_setting_is_named(monkeypatch, raw):
    monkeypatch.setenv("CNNLAB_MEMORY_MB", raw)
    with pytest.raises(ValueError, match="CNNLAB_MEMORY_MB must be a whole number"):
        mb.configured_bytes()


def test_the_default_is_a_share_of_the_machine(monkeypatch):
    monkeypatch.delenv("CNNLAB_MEMORY_MB", raising=False)
    total = mb.physical_bytes()
    assert total and mb.configured_bytes() == max(512, total // 3 // mb.MB) * mb.MB
    monkeypatch.setenv("CNNLAB_MEMORY_MB", "300")
    assert mb.configured_bytes() == 300 * mb.MB
