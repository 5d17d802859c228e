"""Repeated links: ``duplicate_of`` across every file read together, and collapsing them.

A link is its (source URL, target URL, anchor), the URLs trimmed and the anchor's
whitespace runs collapsed to one space and trimmed; a missing value differs from ``""``.
A row whose link was read before gets ``duplicate_of = "file:line"`` of the first row with
that link, in the order the files and their rows are read.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toxlink import schema as S

#: Column added by :func:`collapse_duplicates`: every "file:line" a link was read from.
SEEN_IN = "seen_in"

_LINE_BITS = 40  # a reference packs (file number << 40) | line


class LinkKeys:
    """64-bit key of each row's link: DuckDB's ``hash()`` of the three parts.

    Call with a canonical frame, get a uint64 ndarray of shape (n,). Keys are the same for
    the same link in any frame and process (DuckDB's hash has no random seed).
    """

    def __init__(self):
        self._db = duckdb.connect()  # ~20-60 ms to open: once per read, not per block

    def __call__(self, links: pd.DataFrame) -> np.ndarray:
        anchor = pc.dictionary_encode(pa.array(links[S.ANCHOR].array))  # anchors repeat a lot
        words = pc.utf8_trim_whitespace(pc.replace_substring_regex(anchor.dictionary, r"\s+", " "))
        parts = pa.table({"source": pa.array(links[S.SOURCE_URL].array), "target": pa.array(links[S.TARGET_URL].array),
                          "anchor": words.take(anchor.indices)})
        return self._db.execute("SELECT hash(source, target, anchor) AS key FROM parts").fetchnumpy()["key"]


class FirstSeen:
    """Where each link key was first read, over all the blocks of one read.

    Keys are kept sorted beside their first reference (``file << 40 | line``): 16 bytes per
    distinct link, whatever the number of rows. Keys are 64-bit hashes: two different
    links with the same key (odds about n² / 2⁶⁵, 3e-8 for a million distinct links) would
    make the later one a duplicate of the earlier; nothing else depends on them.
    """

    def __init__(self):
        self._keys = np.zeros(0, dtype=np.uint64)
        self._refs = np.zeros(0, dtype=np.int64)

    def first_of(self, keys: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """Reference of the first row with each key (earlier blocks first, then this
        block's rows in order), or -1 where the row itself is the first; shape (n,)."""
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        pos = np.searchsorted(self._keys, uniq)
        seen = pos < len(self._keys)
        seen[seen] = self._keys[pos[seen]] == uniq[seen]
        first_ref = refs[first]
        first_ref[seen] = self._refs[pos[seen]]
        self._keys = np.insert(self._keys, pos[~seen], uniq[~seen])
        self._refs = np.insert(self._refs, pos[~seen], first_ref[~seen])
        out = first_ref[inverse]
        out[out == refs] = -1
        return out


def mark_duplicates(links: pd.DataFrame, file_number: int, names: list[str], keys: LinkKeys,
                    seen: FirstSeen) -> pd.DataFrame:
    """*links* (canonical rows of file ``names[file_number]``) with ``duplicate_of`` set for
    rows whose link *seen* has met before; *seen* learns the new links. Returns a copy."""
    refs = (np.int64(file_number) << np.int64(_LINE_BITS)) | links[S.SOURCE_ROW].to_numpy(np.int64)
    first = seen.first_of(keys(links), refs)
    out = links.copy(deep=False)
    dup = first >= 0
    if dup.any():
        text = np.full(len(links), None, dtype=object)
        ref = first[dup]
        files = np.asarray(names, dtype=object)[ref >> _LINE_BITS]
        text[dup] = files + ":" + (ref & ((1 << _LINE_BITS) - 1)).astype(str).astype(object)
        out[S.DUPLICATE_OF] = pd.array(text, dtype="string")
    return out


def collapse_duplicates(links: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct link, keeping which files (and lines) each came from.

    The readers keep every input row and mark a repeat with ``duplicate_of``; this folds the
    repeats into their first occurrence and adds :data:`SEEN_IN`, the ``"file:line"`` of
    every row of that link (first occurrence first, ``"; "``-joined).

    Parameters
    ----------
    links : DataFrame, shape (n, ...)
        From :func:`toxlink.exports.read_export` (several exports read together).

    Returns
    -------
    DataFrame, shape (distinct links, ... + 1)
    """
    ref = links[S.SOURCE_FILE].astype("string") + ":" + links[S.SOURCE_ROW].astype("string")
    first = links[S.DUPLICATE_OF].astype("string").fillna(ref)
    seen = ref.groupby(first.to_numpy(), sort=False).agg("; ".join)
    out = links[links[S.DUPLICATE_OF].isna()].copy()
    out[SEEN_IN] = ref[out.index].map(seen).astype("string")
    return out.reset_index(drop=True)
