"""64-bit hashing helpers shared by the profile's pair sets (:mod:`toxlink.features.profile`)
and the roll-up (:mod:`toxlink.policy`).

The hashes only order and group keys; every user confirms equal hashes on the values
themselves, so a collision costs a slower path, never a wrong result.
"""

import numpy as np
import pyarrow as pa

#: Odd 64-bit multiplier (2**64 / golden ratio) for combining hashes.
MUL64 = np.uint64(0x9E3779B97F4A7C15)


def mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser of each uint64 of *h*: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        h = h ^ (h >> np.uint64(30))
        h = h * np.uint64(0xBF58476D1CE4E5B9)
        h = h ^ (h >> np.uint64(27))
        h = h * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


LEN_MUL = np.uint64(0xD6E8FEB86659FD93)


def hash_strings(arr: pa.Array) -> np.ndarray:
    """64-bit hash of each string of *arr* (nulls not special), shape (n,), on the UTF-8
    buffer with numpy: each 8-byte word of a string is mixed with its index in the string
    (splitmix64), the words' mixes are summed per string and the sum is mixed with the length.

    No Python string objects (hashing them cost more than the rest of the duplicate check).
    """
    data, offsets = _buffers(arr)
    start = offsets[:-1]
    lens = offsets[1:] - start
    h = np.zeros(len(start), dtype=np.uint64)
    n_words = (lens + 7) >> 3
    ends = np.cumsum(n_words)
    total = int(ends[-1]) if len(ends) else 0
    if total:
        first = ends - n_words
        some = np.flatnonzero(n_words)
        s_start, s_first, s_words = start[some], first[some], n_words[some]
        # Byte position and index in its string of every word, as running sums of steps:
        # +8 (+1) within a string, a jump to the next string's start (back to 0) at its first word.
        pos = np.full(total, 8, dtype=np.int64)
        pos[0] = s_start[0]
        pos[s_first[1:]] = s_start[1:] - s_start[:-1] - 8 * (s_words[:-1] - 1)
        np.cumsum(pos, out=pos)
        k = np.ones(total, dtype=np.int64)
        k[0] = 0
        k[s_first[1:]] = 1 - s_words[:-1]
        np.cumsum(k, out=k)
        words = _words_at(data, pos)
        # the bytes of a string's last word past its end belong to the next string
        tail = (lens[some] & 7).astype(np.uint64) << np.uint64(3)
        words[s_first + s_words - 1] &= np.where(tail == 0, np.uint64(0xFFFFFFFFFFFFFFFF),
                                                  (np.uint64(1) << tail) - np.uint64(1))
        with np.errstate(over="ignore"):
            words ^= k.view(np.uint64) * MUL64
        h[some] = np.add.reduceat(mix64(words), s_first)
    with np.errstate(over="ignore"):
        return mix64(h ^ (lens.astype(np.uint64) * LEN_MUL))


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes and int64 offsets (shape (n + 1,)) of a string array without nulls."""
    arr = arr.cast(pa.large_string())
    _, offs, data = arr.buffers()
    offsets = np.frombuffer(offs, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return data, offsets


def _words_at(data: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The little-endian 8-byte words of *data* at byte positions *pos* (bytes past the end
    read as 0), shape (len(pos),) uint64."""
    fit = len(data) - 7  # positions whose 8 bytes are all in the buffer
    out = np.zeros(len(pos), dtype=np.uint64)
    inside = pos < fit
    if fit > 0:
        view = np.ndarray(shape=(fit,), dtype="<u8", buffer=data, strides=(1,))  # unaligned reads
        out[inside] = view[pos[inside]]
    rest = np.flatnonzero(~inside)
    if len(rest):
        lo = max(len(data) - 8, 0)
        padded = np.zeros(24, dtype=np.uint8)
        padded[: len(data) - lo] = data[lo:]
        out[rest] = np.ndarray(shape=(16,), dtype="<u8", buffer=padded, strides=(1,))[pos[rest] - lo]
    return out
