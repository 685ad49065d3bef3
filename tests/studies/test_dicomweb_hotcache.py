"""The per-process caches of the DICOMweb read path stay within their bounds."""

from __future__ import annotations

from studies.dicomweb.hotcache import SizedLRU


def test_the_metadata_cache_evicts_the_least_recently_used_beyond_its_size() -> None:
    cache = SizedLRU(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # "a" is now the most recently used
    cache.put("c", b"1234")

    assert cache.get("b") is None
    assert cache.get("a") == cache.get("c") == b"1234"


def test_a_value_larger_than_the_whole_cache_is_not_kept() -> None:
    cache = SizedLRU(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("big", b"x" * 11)

    assert cache.get("big") is None
    assert cache.get("a") == b"1234"


def test_replacing_a_value_counts_its_new_size_only() -> None:
    cache = SizedLRU(max_bytes=10)
    cache.put("a", b"12345678")
    cache.put("a", b"12")
    cache.put("b", b"12345678")

    assert cache.get("a") == b"12"
    assert cache.get("b") == b"12345678"
