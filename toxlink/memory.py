"""Keeping a long scoring run's memory flat: aggregates off the C heap, free pages returned.

A streaming run allocates chunk-sized temporaries (freed after each chunk) beside
aggregates that live for the whole run and grow with the export (per-site counts, the
hosts seen, (site, reason) counts). When both come from glibc's heap, each grown aggregate
lands above the chunk temporaries freed around it; the heap can only shrink from its top,
so those holes stay resident and the process grows with the export, not with the chunk.

:func:`off_heap` moves an aggregate into its own anonymous memory map instead (returned to
the system as soon as the array is dropped, whatever else the heap holds), and
:func:`release_free_memory` hands the heap's free pages back between the run's phases.
"""

from __future__ import annotations

import mmap

import numpy as np

#: Arrays smaller than this stay on the heap: a map costs a system call and whole pages.
OFF_HEAP_MIN_BYTES = 1 << 16


def off_heap(a: np.ndarray) -> np.ndarray:
    """A copy of *a* in an anonymous memory map of its own (same shape, dtype and values).

    For arrays that outlive the chunk being processed; small arrays are returned as they are.
    """
    a = np.asarray(a)
    if a.nbytes < OFF_HEAP_MIN_BYTES or a.dtype.hasobject:
        return a
    out = np.frombuffer(_anonymous_map(a.nbytes), dtype=a.dtype, count=a.size).reshape(a.shape)
    out[...] = a
    return out


def empty_off_heap(shape, dtype) -> np.ndarray:
    """An array of zeros of *shape*, off the heap when it is large (see :func:`off_heap`)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    if n * dtype.itemsize < OFF_HEAP_MIN_BYTES:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(_anonymous_map(n * dtype.itemsize), dtype=dtype, count=n).reshape(shape)


def _anonymous_map(nbytes: int) -> mmap.mmap:
    """Zeroed private memory of its own, unmapped when the last array over it is dropped."""
    if hasattr(mmap, "MAP_PRIVATE"):  # private, as malloc's own maps (a forked child gets a copy)
        return mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return mmap.mmap(-1, nbytes)


def off_heap_arrow(data):
    """A copy of an Arrow array or table whose buffers are off the heap (see :func:`off_heap`).

    For Arrow data that outlives the chunk it came from (Arrow's allocator keeps the pages
    of its freed blocks for reuse, so long-lived blocks among a run's chunk temporaries
    hold on to memory the same way); small arrays are returned as they are.
    """
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return pa.table({name: off_heap_arrow(col) for name, col in zip(data.column_names, data.columns)})
    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks() if data.num_chunks != 1 else data.chunk(0)
    if data.nbytes < OFF_HEAP_MIN_BYTES or data.type.num_fields or isinstance(data.type, pa.DictionaryType):
        return data
    buffers = []
    for buf in data.buffers():
        if buf is None:
            buffers.append(None)
        else:
            raw = np.frombuffer(buf, dtype=np.uint8)
            buffers.append(pa.py_buffer(off_heap(raw)))
    return pa.Array.from_buffers(data.type, len(data), buffers, data.null_count, data.offset)


def insert(a: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.insert(a, at, values, axis=0)`` for nondecreasing *at*, built off the heap.

    For sorted aggregates that grow by merging each chunk's new keys in: the result is a
    new array (as with ``np.insert``), so the old one may still be read meanwhile.
    """
    values = np.asarray(values)
    out = empty_off_heap((len(a) + len(values),) + a.shape[1:], np.result_type(a, values))
    slots = np.asarray(at, dtype=np.int64) + np.arange(len(values))
    keep = np.ones(len(out), dtype=bool)
    keep[slots] = False
    out[keep] = a
    out[slots] = values
    return out


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; elsewhere a no-op).

    Called between the phases of a run (after pass 1, before the final outputs), when the
    previous phase's temporaries and aggregates are gone: a few milliseconds, once per phase.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class SpillFile:
    """Arrays and Arrow tables parked on disk until the end of a run, in one unnamed temporary file.

    For aggregates that grow with the export but are only read at the end (a roll-up's
    completed runs): on disk they take no memory while the run goes on. The file has no
    name (it is unlinked as it is created, where the system allows), so nothing is left
    behind whatever happens to the process; it is closed with this object.

    Parameters
    ----------
    folder : path
        Where the file goes (the run's output folder: a place known to be writable, with
        room for the run's outputs).
    """

    def __init__(self, folder):
        import tempfile

        self._file = tempfile.TemporaryFile(dir=folder, prefix=".toxlink-spill-")
        self._end = 0

    def put(self, a: np.ndarray) -> tuple[int, int]:
        """Write *a*'s bytes; returns where they are (offset, size), for :meth:`get`."""
        data = memoryview(np.ascontiguousarray(a)).cast("B")
        self._file.seek(self._end)
        self._file.write(data)
        at = (self._end, len(data))
        self._end += len(data)
        return at

    def get(self, at: tuple[int, int], dtype=np.uint8, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Items ``start:stop`` of the *dtype* array :meth:`put` wrote at *at*, read into a new array."""
        dtype = np.dtype(dtype)
        offset, size = at
        n = size // dtype.itemsize
        stop = n if stop is None else min(stop, n)
        out = np.empty(max(stop - start, 0), dtype=dtype)
        if len(out):
            self._file.seek(offset + start * dtype.itemsize)
            view = memoryview(out).cast("B")
            got = 0
            while got < len(view):
                k = self._file.readinto(view[got:])
                if not k:
                    raise OSError(f"spill file ended early: {got} of {len(view)} bytes read")
                got += k
        return out

    def put_arrow(self, table) -> tuple[int, int]:
        """Write an Arrow table (as an IPC stream); returns where, for :meth:`get_arrow`."""
        import pyarrow as pa

        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return self.put(np.frombuffer(sink.getvalue(), dtype=np.uint8))

    def get_arrow(self, at: tuple[int, int]):
        """The Arrow table :meth:`put_arrow` wrote at *at*."""
        import pyarrow as pa

        return pa.ipc.open_stream(pa.py_buffer(self.get(at))).read_all()

    def close(self) -> None:
        self._file.close()
