"""toxlink.memory: aggregates copied off the heap keep their values; inserts equal np.insert."""

import mmap

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from toxlink import memory as M


def _mapped(a: np.ndarray) -> bool:
    base = a
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return isinstance(base, mmap.mmap)


def test_off_heap_copies_large_arrays_into_their_own_map_and_leaves_small_ones():
    big = np.arange(M.OFF_HEAP_MIN_BYTES, dtype=np.int64).reshape(-1, 4)
    out = M.off_heap(big)
    assert _mapped(out) and not np.shares_memory(out, big)
    assert out.dtype == big.dtype and out.shape == big.shape and (out == big).all()
    out[0, 0] = -1  # writable, and a copy
    assert big[0, 0] == 0
    small = np.arange(10)
    assert M.off_heap(small) is small
    zeros = M.empty_off_heap((3, M.OFF_HEAP_MIN_BYTES), np.float64)
    assert _mapped(zeros) and zeros.shape == (3, M.OFF_HEAP_MIN_BYTES) and not zeros.any()


def test_off_heap_arrow_keeps_values_nulls_and_slices():
    n = 20_000
    urls = pa.array([None if i % 97 == 0 else f"https://site{i}.example/page/{i}" for i in range(n)], pa.large_string())
    table = pa.table({"site": np.arange(n, dtype=np.int64), "url": urls, "h": np.arange(n, dtype=np.uint64)})
    for data in (urls, urls.slice(123, 5_000), table, pa.chunked_array([urls.slice(0, 10), urls.slice(10)])):
        got = M.off_heap_arrow(data)
        want = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
        assert got.equals(want)
    tiny = pa.array(["a", None])
    assert M.off_heap_arrow(tiny) is tiny


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=40), st.lists(st.integers(-50, 50), max_size=40), st.booleans())
def test_insert_equals_np_insert(old, new, two_d):
    a = np.sort(np.array(old, dtype=np.int64))
    values = np.array(new, dtype=np.int64)
    at = np.sort(np.searchsorted(a, values))
    if two_d:
        a2, v2 = np.stack([a, -a], axis=1), np.stack([values, values * 2], axis=1)
        assert np.array_equal(M.insert(a2, at, v2), np.insert(a2, at, v2, axis=0))
    else:
        assert np.array_equal(M.insert(a, at, values), np.insert(a, at, values))


def test_release_free_memory_returns_without_error():
    M.release_free_memory()  # glibc's malloc_trim and Arrow's pool; a no-op where neither applies


def test_spill_file_gives_back_arrays_slices_and_tables_and_leaves_no_file(tmp_path):
    spill = M.SpillFile(tmp_path)
    keys = np.arange(0, 30_000, 3, dtype=np.int64)
    flags = np.array([True, False, True])
    urls = pa.table({"site": np.arange(5, dtype=np.int64), "url": pa.array(["a", None, "ü", "", "e"], pa.large_string())})
    at_keys, at_flags, at_urls = spill.put(keys), spill.put(flags), spill.put_arrow(urls)
    assert list(tmp_path.iterdir()) == []  # unnamed: nothing to clean up, whatever happens
    assert np.array_equal(spill.get(at_keys, np.int64), keys)
    assert np.array_equal(spill.get(at_keys, np.int64, 10, 20), keys[10:20])
    assert np.array_equal(spill.get(at_keys, np.int64, 9_990, 20_000), keys[9_990:])  # stop past the end
    assert len(spill.get(at_keys, np.int64, 7, 7)) == 0
    assert np.array_equal(spill.get(at_flags, bool), flags)
    assert spill.get_arrow(at_urls).equals(urls)
    spill.close()
